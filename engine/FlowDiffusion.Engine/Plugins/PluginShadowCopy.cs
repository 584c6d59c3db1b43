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
        if (root is null)
        {
            var shared = Path.Combine(Path.GetTempPath(), "flowdiffusion-plugin-shadow");
            RemoveLeftovers(shared);
            root = Path.Combine(shared, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        }
        Root = root;
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

    // Hosts that exit without disposing leave copies behind; those of processes no longer running can go.
    private static void RemoveLeftovers(string shared)
    {
        if (!Directory.Exists(shared)) return;
        foreach (var folder in Directory.GetDirectories(shared))
        {
            var name = Path.GetFileName(folder);
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || !int.TryParse(name.AsSpan(0, dash), out var processId) || IsRunning(processId)) continue;
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another host may be removing it too; leaving it is harmless.
            }
        }
    }

    private static bool IsRunning(int processId)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
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
