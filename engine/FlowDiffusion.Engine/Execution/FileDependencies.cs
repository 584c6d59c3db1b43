using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// The files and folders node results depend on beyond their parameters' text (<see cref="Sdk.INodeContext.DependsOn"/>),
/// by the node's parameter-and-input cache key, remembered across runs. A node's effective cache key adds a stamp of
/// those paths' current state, so a changed file is a different key: the node runs again and every node downstream,
/// whose keys derive from it, does too.
/// </summary>
internal sealed class FileDependencies
{
    private const int MaxEntriesPerFolder = 10_000;
    private readonly ConcurrentDictionary<string, string[]> _paths = new(StringComparer.Ordinal);

    /// <summary>The effective key for <paramref name="key"/>: itself while no dependencies are known, else with their stamp.</summary>
    public string KeyFor(string key) => _paths.TryGetValue(key, out var paths) ? WithStamp(key, paths) : key;

    /// <summary>Records what the node under <paramref name="key"/> read and returns its effective key.</summary>
    public string Record(string key, IReadOnlyCollection<string> paths)
    {
        var distinct = paths.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        _paths[key] = distinct;
        return WithStamp(key, distinct);
    }

    private static string WithStamp(string key, string[] paths)
    {
        var builder = new StringBuilder(key);
        foreach (var path in paths)
        {
            builder.Append("|dep:").Append(path).Append('=');
            Stamp(builder, path);
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString())));
    }

    // A file: size and modification time. A folder: the same for every file under it, by relative path. Else: missing.
    private static void Stamp(StringBuilder builder, string path)
    {
        try
        {
            if (File.Exists(path))
            {
                Append(builder, new FileInfo(path), "");
            }
            else if (Directory.Exists(path))
            {
                var files = new DirectoryInfo(path).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MaxRecursionDepth = 8 })
                    .Take(MaxEntriesPerFolder + 1).ToList();
                foreach (var file in files.OrderBy(f => f.FullName, StringComparer.Ordinal))
                {
                    Append(builder, file, Path.GetRelativePath(path, file.FullName));
                }
            }
            else
            {
                builder.Append("missing");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Unreadable now: a state of its own, so the node runs again and reports the problem itself.
            builder.Append("unreadable:").Append(e.GetType().Name);
        }
    }

    private static void Append(StringBuilder builder, FileInfo file, string name) =>
        builder.Append(name).Append(':').Append(file.Length.ToString(CultureInfo.InvariantCulture)).Append(':')
            .Append(file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append(';');
}
