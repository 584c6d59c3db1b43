namespace FlowDiffusion.Engine.Plugins;

/// <summary>
/// Copies a plugin folder to a fresh versioned folder before it is loaded, so the original can be rebuilt or replaced
/// while the loaded copy keeps serving runs in flight. Native asset trees (<c>runtimes/</c>) are linked, not copied:
/// they are large and a rebuild leaves them unchanged.
/// </summary>
public sealed class PluginShadowCopy : IDisposable
{
    private int _generation;

    /// <summary>Creates a shadow area under <paramref name="root"/>, or a fresh one in the temp folder.</summary>
    public PluginShadowCopy(string? root = null)
    {
        Root = root ?? Path.Combine(Path.GetTempPath(), "flowdiffusion-plugin-shadow", $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
    }

    /// <summary>Where the copies live.</summary>
    public string Root { get; }

    /// <summary>Copies <paramref name="folder"/> to a new versioned folder and returns its path.</summary>
    public string Copy(string folder)
    {
        var generation = Interlocked.Increment(ref _generation);
        var target = Path.Combine(Root, $"{Path.GetFileName(folder)}.{generation}");
        CopyTree(folder, target, top: true);
        return target;
    }

    /// <summary>Deletes the copies (best effort: loaded assemblies stay in memory).</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Files still mapped on some platforms; a leftover temp folder is harmless.
        }
    }

    private static void CopyTree(string source, string target, bool top)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        foreach (var directory in Directory.GetDirectories(source))
        {
            var name = Path.GetFileName(directory);
            var destination = Path.Combine(target, name);
            if (top && name == "runtimes" && TryLink(destination, directory)) continue;
            CopyTree(directory, destination, top: false);
        }
    }

    private static bool TryLink(string link, string directory)
    {
        try
        {
            Directory.CreateSymbolicLink(link, Path.GetFullPath(directory));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            return false;
        }
    }
}
