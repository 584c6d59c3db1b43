namespace FlowDiffusion.ModelGenerator.Files;

/// <summary>The files of one model folder, by relative path with '/' separators, built in memory and then written.</summary>
public sealed class ModelFolder
{
    private readonly SortedDictionary<string, byte[]> _files = new(StringComparer.Ordinal);

    /// <summary>Relative path → content, in ordinal path order.</summary>
    public IReadOnlyDictionary<string, byte[]> Files => _files;

    /// <summary>Adds (or replaces) one file.</summary>
    public void Add(string relativePath, byte[] content) => _files[relativePath] = content;

    /// <summary>Writes every file under <paramref name="directory"/>, creating folders as needed.</summary>
    public void WriteTo(string directory)
    {
        foreach (var (path, content) in _files)
        {
            var full = Path.Combine(directory, path.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, content);
        }
    }
}
