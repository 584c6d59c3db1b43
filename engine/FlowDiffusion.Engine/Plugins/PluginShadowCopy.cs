namespace FlowDiffusion.Engine.Plugins;

/// <summary>
/// Copies a plugin folder to a fresh versioned folder before it is loaded, so the original can be rebuilt or replaced
/// while the loaded copy keeps serving runs in flight. Native asset trees (<c>runtimes/</c>) are linked, not copied:
/// they are large and a rebuild leaves them unchanged.
/// </summary>
public sealed class PluginShadowCopy : IDisposable
{
    private const string Prefix = "flowdiffusion-plugin-shadow-";
    private int _generation;

    /// <summary>Creates a shadow area under <paramref name="root"/>, or a fresh private one in the temp folder.</summary>
    public PluginShadowCopy(string? root = null)
    {
        if (root is null)
        {
            RemoveLeftovers(Path.GetTempPath());
            // A new directory made atomically with owner-only permissions (mkdtemp): nothing another user planted in the
            // temp folder (a link, a folder they own) can be followed or written into.
            root = Directory.CreateTempSubdirectory($"{Prefix}{Environment.ProcessId}-").FullName;
        }
        else
        {
            Directory.CreateDirectory(root);
        }
        Root = root;
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

    // Hosts that exit without disposing leave copies behind; those of processes no longer running can go. Links are
    // never followed or deleted through, and other users' folders are owner-only, so only our own leftovers go.
    private static void RemoveLeftovers(string temp)
    {
        IEnumerable<string> folders;
        try
        {
            folders = Directory.GetDirectories(temp, Prefix + "*");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (var folder in folders)
        {
            var name = Path.GetFileName(folder)[Prefix.Length..];
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || !int.TryParse(name.AsSpan(0, dash), out var processId) || IsRunning(processId)) continue;
            try
            {
                if (new DirectoryInfo(folder).LinkTarget is not null) continue;
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another host may be removing it too, or it is not ours: leaving it is harmless.
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
