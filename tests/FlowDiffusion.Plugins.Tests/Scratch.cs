namespace FlowDiffusion.Plugins.Tests;

/// <summary>One scratch folder for the whole test run (packages, plugin builds), removed when the process exits.</summary>
internal static class Scratch
{
    public static string Root { get; } = Create();

    /// <summary>A new empty folder under the scratch root.</summary>
    public static string NewFolder(string name)
    {
        var path = Path.Combine(Root, $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Copies a folder tree, leaving out build outputs.</summary>
    public static void CopyTree(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        foreach (var directory in Directory.GetDirectories(source))
        {
            var name = Path.GetFileName(directory);
            if (name is "bin" or "obj") continue;
            CopyTree(directory, Path.Combine(target, name));
        }
    }

    private static string Create()
    {
        // The test host is often ended before ProcessExit runs: earlier runs' folders are swept here instead.
        foreach (var stale in Directory.GetDirectories(Path.GetTempPath(), "flowdiffusion-plugin-tests-*"))
        {
            if (Directory.GetLastWriteTimeUtc(stale) > DateTime.UtcNow.AddHours(-3)) continue;
            try
            {
                Directory.Delete(stale, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another user's or a still-running run's folder: left alone.
            }
        }
        var root = Path.Combine(Path.GetTempPath(), "flowdiffusion-plugin-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover temp folder is harmless.
            }
        };
        return root;
    }
}
