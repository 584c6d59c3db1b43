using System.Globalization;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// Claims numbered file names (prefix_00001.png, prefix_00002.png, …) that never overwrite: each name is taken by
/// creating the file exclusively, so concurrent saves (and other processes) never share one. The next number per
/// folder and prefix is remembered, so a folder with thousands of earlier images costs one directory scan, not one
/// failed create per existing file.
/// </summary>
internal static class NumberedFiles
{
    private const int Remembered = 1024;
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, int> Next = new(StringComparer.Ordinal);

    /// <summary>Creates and returns the next free <paramref name="prefix"/>_NNNNN<paramref name="extension"/> in <paramref name="folder"/>.</summary>
    public static string Reserve(string folder, string prefix, string extension)
    {
        lock (Gate)
        {
            Directory.CreateDirectory(folder);
            var key = Path.GetFullPath(folder) + '\0' + prefix + '\0' + extension;
            if (!Next.TryGetValue(key, out var number)) number = Highest(folder, prefix, extension) + 1;
            for (; ; number++)
            {
                var path = Path.Combine(folder, prefix + "_" + number.ToString("00000", CultureInfo.InvariantCulture) + extension);
                try
                {
                    using var _ = new FileStream(path, FileMode.CreateNew);
                    // A server writes into a new folder per run: forget old folders rather than grow without end.
                    if (Next.Count >= Remembered && !Next.ContainsKey(key)) Next.Clear();
                    Next[key] = number + 1;
                    return path;
                }
                catch (IOException) when (File.Exists(path))
                {
                    // Taken since the scan (another process, or a file copied in): try the next number.
                }
            }
        }
    }

    // The highest number already used, 0 when none.
    private static int Highest(string folder, string prefix, string extension)
    {
        var highest = 0;
        foreach (var file in Directory.EnumerateFiles(folder, "*" + extension))
        {
            var name = Path.GetFileName(file.AsSpan());
            if (name.Length <= prefix.Length + 1 + extension.Length || !name.StartsWith(prefix, StringComparison.Ordinal) || name[prefix.Length] != '_') continue;
            var digits = name[(prefix.Length + 1)..^extension.Length];
            if (digits.ContainsAnyExceptInRange('0', '9')) continue;
            if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > highest) highest = number;
        }
        return highest;
    }
}
