using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.Api;

/// <summary>
/// ComfyUI's <c>GET /internal/files/{directory_type}</c>, the list behind LoadImageOutput's remote combo: the images of
/// the output, input or temp folder, newest first. ComfyUI lists the files at its folder's top level; our images lie one
/// run folder down, so the names here are paths under the folder ("&lt;run&gt;/ComfyUI_00001_.png"), which the frontend
/// annotates (" [output]") and LoadImageOutput resolves back to the same file. Only names that can load back are listed:
/// image files (by extension, the formats image.load reads), not empty (a save's reserved name mid-write), not hidden,
/// never through a link (nothing outside the folder), without a "[input]"-style tag the frontend would take for an
/// annotation. Bounded: at most <see cref="MaxDepth"/> folders down, <see cref="MaxVisited"/> entries looked at (the
/// most recently changed folders first) and <see cref="MaxListed"/> names returned.
/// </summary>
internal static class ComfyFileList
{
    /// <summary>The most names one answer lists (the newest).</summary>
    public const int MaxListed = 10_000;

    /// <summary>The most folder entries (files and folders) one answer looks at.</summary>
    public const int MaxVisited = 200_000;

    /// <summary>How many folders below the root files are listed from (run folders are one down; uploads' subfolders may nest).</summary>
    public const int MaxDepth = 4;

    /// <summary>The directory types ComfyUI accepts.</summary>
    public static IReadOnlyList<string> DirectoryTypes { get; } = ["output", "input", "temp"];

    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"];

    private static readonly string[] Annotations = ["[input]", "[output]", "[temp]"];

    // A link is never listed nor walked into: AttributesToSkip reads the entry itself (lstat), not what it points at.
    private static readonly EnumerationOptions OneFolder = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.ReparsePoint,
        ReturnSpecialDirectories = false,
    };

    /// <summary>
    /// The names for <paramref name="directoryType"/>, newest first, or null when it is not a directory type ComfyUI knows.
    /// PreviewImage's files (<see cref="ApiPromptConverter.PreviewPrefix"/>) lie in the output folder too: they are the
    /// temp listing, and the output listing is everything else, as ComfyUI keeps previews out of its output folder.
    /// </summary>
    /// <param name="directoryType">output, input or temp.</param>
    /// <param name="folders">Where the folders are; a host without outputs lists none.</param>
    public static IReadOnlyList<string>? Of(string directoryType, ComfyFolders folders) => directoryType switch
    {
        "input" => List(folders.InputFolder, _ => true),
        "output" => folders.OutputFolder is { } output ? List(output, name => !IsPreview(name)) : [],
        "temp" => folders.OutputFolder is { } output ? List(output, IsPreview) : [],
        _ => null,
    };

    /// <summary>The image files under <paramref name="root"/> whose file name <paramref name="include"/> accepts, as '/'-separated paths relative to it, newest first (ties by name).</summary>
    /// <param name="root">The folder (an absent one lists nothing).</param>
    /// <param name="include">Which file names to list.</param>
    /// <param name="maxListed">The most names returned.</param>
    /// <param name="maxVisited">The most entries looked at.</param>
    /// <param name="maxDepth">How many folders down files are listed from (0: the root's own).</param>
    public static IReadOnlyList<string> List(string root, Func<string, bool> include, int maxListed = MaxListed, int maxVisited = MaxVisited, int maxDepth = MaxDepth)
    {
        var start = new DirectoryInfo(Path.GetFullPath(root));
        if (!start.Exists || start.LinkTarget is not null) return [];
        // The newest maxListed files seen so far, the oldest on top so it is the one dropped.
        var newest = new PriorityQueue<string, (long Ticks, string Name)>(Comparer<(long Ticks, string Name)>.Create(
            (a, b) => a.Ticks != b.Ticks ? a.Ticks.CompareTo(b.Ticks) : string.CompareOrdinal(b.Name, a.Name)));
        // Folders are walked most recently changed first (a file added or renamed into one changes it), so a walk cut
        // short by maxVisited has seen the newest runs.
        var folders = new PriorityQueue<(DirectoryInfo Folder, string Name, int Depth), long>();
        folders.Enqueue((start, "", 0), 0);
        var visited = 0;
        while (folders.TryDequeue(out var next, out _))
        {
            foreach (var entry in next.Folder.EnumerateFileSystemInfos("*", OneFolder))
            {
                if (++visited > maxVisited) return NewestFirst(newest);
                if (entry.Name.StartsWith('.') || entry.Name.Contains('\\')) continue;
                var name = next.Name.Length == 0 ? entry.Name : next.Name + "/" + entry.Name;
                if (entry is DirectoryInfo folder)
                {
                    if (next.Depth < maxDepth) folders.Enqueue((folder, name, next.Depth + 1), -folder.LastWriteTimeUtc.Ticks);
                }
                else if (entry is FileInfo { Length: > 0 } file && IsImage(file.Name) && include(file.Name) && !HasAnnotation(name))
                {
                    newest.Enqueue(name, (file.LastWriteTimeUtc.Ticks, name));
                    if (newest.Count > maxListed) newest.Dequeue();
                }
            }
        }

        return NewestFirst(newest);
    }

    private static bool IsPreview(string fileName) => fileName.StartsWith(ApiPromptConverter.PreviewPrefix + "_", StringComparison.Ordinal);

    private static bool IsImage(string fileName) => ImageExtensions.Any(e => fileName.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    // The frontend annotates a name unless it already holds "[input]", "[output]" or "[temp]" anywhere (any case): such a
    // name would reach LoadImageOutput unannotated and resolve in the wrong folder.
    private static bool HasAnnotation(string name) => Annotations.Any(a => name.Contains(a, StringComparison.OrdinalIgnoreCase));

    private static List<string> NewestFirst(PriorityQueue<string, (long Ticks, string Name)> newest)
    {
        var names = new List<string>(newest.Count);
        while (newest.TryDequeue(out var name, out _)) names.Add(name);
        names.Reverse();
        return names;
    }
}
