namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// The folders a run may read input files from. Paths are compared after every symbolic link in them is followed, so a
/// link inside an input folder that points elsewhere does not widen it. Refusals never say whether the path exists.
/// </summary>
public sealed class InputFolders
{
    private const int MaxLinks = 40;
    private readonly string[] _roots;
    private readonly string _description;

    /// <summary>Input folders <paramref name="folders"/>, relative ones taken against <paramref name="workingDirectory"/>.</summary>
    public InputFolders(IEnumerable<string> folders, string workingDirectory)
    {
        var given = folders.Where(f => !string.IsNullOrWhiteSpace(f)).Select(f => Path.GetFullPath(f, workingDirectory)).Distinct().ToList();
        _roots = given.Select(RealPath).Select(WithSeparator).Distinct().ToArray();
        _description = string.Join(", ", given.Select(f => Path.GetRelativePath(workingDirectory, f)));
    }

    /// <summary>The folders, links followed.</summary>
    public IReadOnlyList<string> Roots => _roots;

    /// <summary>
    /// The real path of <paramref name="path"/> (relative to <paramref name="workingDirectory"/>), when it lies in an input folder.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">It does not; the message names <paramref name="parameter"/>.</exception>
    public string Resolve(string parameter, string path, string workingDirectory)
    {
        string real;
        try
        {
            real = RealPath(Path.GetFullPath(path, workingDirectory));
        }
        catch (Exception e) when (e is IOException or ArgumentException or NotSupportedException or UnauthorizedAccessException)
        {
            throw Refused(parameter, path);
        }
        foreach (var root in _roots)
            if (real.StartsWith(root, PathComparison) || WithSeparator(real).Equals(root, PathComparison))
                return real;
        throw Refused(parameter, path);
    }

    private UnauthorizedAccessException Refused(string parameter, string path) => new(
        $"parameter '{parameter}': '{path}' is not inside the folders this host reads inputs from ({_description}); " +
        "put the file there (uploads go there too) or add its folder to FlowDiffusion:InputFolders");

    private static StringComparison PathComparison =>
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private static string WithSeparator(string path) => Path.EndsInDirectorySeparator(path) ? path : path + Path.DirectorySeparatorChar;

    /// <summary>The absolute path with every symbolic link followed (components that do not exist are kept as written).</summary>
    internal static string RealPath(string fullPath)
    {
        var links = 0;
        var pending = new Stack<string>();
        var root = Path.GetPathRoot(fullPath)!;
        foreach (var part in fullPath[root.Length..].Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse())
            pending.Push(part);
        var current = root;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".") continue;
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }
            var next = Path.Combine(current, part);
            var target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++links > MaxLinks) throw new IOException($"too many symbolic links in '{fullPath}'");
            // The link's target replaces this component: an absolute target restarts from its root.
            var resolved = Path.IsPathRooted(target) ? target : Path.Combine(current, target);
            var resolvedRoot = Path.GetPathRoot(resolved)!;
            foreach (var piece in resolved[resolvedRoot.Length..].Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse())
                pending.Push(piece);
            current = resolvedRoot;
        }
        return current;
    }
}
