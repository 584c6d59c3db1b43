namespace FlowDiffusion.Server.Api;

/// <summary>
/// Resolves a client-supplied relative path inside a root folder, refusing anything that could leave it:
/// <c>..</c> segments, rooted or drive paths, backslashes, still-encoded characters, and symbolic links whose
/// target lies outside the root.
/// </summary>
public static class ContainedFile
{
    /// <summary>The full path of an existing file under <paramref name="root"/>, or null when refused or missing.</summary>
    public static string? Resolve(string root, string? relative)
    {
        if (string.IsNullOrEmpty(relative) || relative.Length > 1024) return null;
        if (relative.Contains('\\') || relative.Contains('%') || relative.Contains(':') || relative.Contains('\0')) return null;
        if (relative.StartsWith('/') || Path.IsPathRooted(relative)) return null;
        var segments = relative.Split('/');
        if (segments.Any(s => s is "" or "." or "..")) return null;

        var rootFull = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var full = Path.GetFullPath(Path.Combine(rootFull, relative));
        if (!full.StartsWith(rootFull + Path.DirectorySeparatorChar, StringComparison.Ordinal)) return null;
        if (!File.Exists(full)) return null;

        // Every level below the root may be a link; each must resolve inside the root.
        var rootReal = RealPath(rootFull);
        var current = rootFull;
        foreach (var segment in segments)
        {
            current = Path.Combine(current, segment);
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.LinkTarget is null) continue;
            var target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
            if (target is null || !RealPath(target).StartsWith(rootReal + Path.DirectorySeparatorChar, StringComparison.Ordinal)) return null;
        }
        return full;
    }

    private static string RealPath(string path)
    {
        // Resolve links on the root itself too (e.g. /tmp on macOS), so containment compares like with like.
        var info = new DirectoryInfo(path);
        var target = info.Exists && info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName : null;
        return Path.TrimEndingDirectorySeparator(target ?? path);
    }
}
