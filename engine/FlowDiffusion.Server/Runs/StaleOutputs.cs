namespace FlowDiffusion.Server.Runs;

/// <summary>
/// Empties a run's output folder before the run starts again, so the files of an attempt that never finished (the host
/// was killed, or stopped, mid-run) do not sit beside those of the attempt that does: a run's outputs are one set.
/// </summary>
internal static class StaleOutputs
{
    /// <summary>
    /// Deletes what is inside <c>outputRoot/id</c> and returns how many entries that was. Only that folder is touched: the
    /// id must be a run id (hex digits, no separators), and links inside it (or the folder itself, if it is a link) are
    /// removed as links, never followed.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="id"/> is not a run id.</exception>
    public static int Clear(string outputRoot, string id)
    {
        if (id.Length == 0 || !id.All(char.IsAsciiHexDigit))
            throw new ArgumentException($"'{id}' is not a run id (hex digits); its output folder is not cleared", nameof(id));
        var root = Path.GetFullPath(outputRoot);
        var folder = Path.Combine(root, id);
        var info = new DirectoryInfo(folder);
        if (info.LinkTarget is not null)
        {
            // Someone replaced the run's folder with a link: remove the link, leave whatever it points at alone.
            info.Delete();
            return 1;
        }
        if (!info.Exists) return 0;
        var removed = 0;
        foreach (var entry in info.EnumerateFileSystemInfos())
        {
            // Directory.Delete(recursive) removes links it meets without following them, so nothing outside is deleted.
            if (entry is DirectoryInfo directory && directory.LinkTarget is null) directory.Delete(recursive: true);
            else entry.Delete();
            removed++;
        }
        return removed;
    }
}
