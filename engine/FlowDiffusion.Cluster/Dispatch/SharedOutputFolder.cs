namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>
/// The shared output store (<see cref="Hosting.ScaleOutOptions.OutputStore"/>): a folder every member mounts. A worker puts an
/// attempt's files in the attempt's inbox, <c>.incoming/&lt;run&gt;.&lt;attempt&gt;/</c>, each copied under a temporary name and
/// renamed, so no file there is ever half-written; the coordinator moves them into its output store only when it accepts the
/// attempt's result (fenced like every other write), and deletes the inbox of an attempt whose result it refuses.
/// </summary>
public static class SharedOutputFolder
{
    private const string Incoming = ".incoming";

    /// <summary>The inbox of one attempt under <paramref name="store"/>.</summary>
    public static string Inbox(string store, LeaseTicket ticket) =>
        Path.Combine(Path.GetFullPath(store), Incoming, $"{Path.GetFileName(ticket.RunId)}.{ticket.Attempt}");

    /// <summary>
    /// Worker side: copies <paramref name="files"/> (full paths under <paramref name="folder"/>) into the attempt's inbox and
    /// returns their names relative to <paramref name="folder"/>. A retry starts the inbox afresh.
    /// </summary>
    public static async Task<string[]> PlaceAsync(string store, LeaseTicket ticket, string folder, IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        var inbox = Inbox(store, ticket);
        if (Directory.Exists(inbox)) Directory.Delete(inbox, recursive: true);
        Directory.CreateDirectory(inbox);
        var names = new List<string>();
        foreach (var file in files)
        {
            var name = Path.GetRelativePath(folder, file).Replace('\\', '/');
            if (name.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(name) || !File.Exists(file)) continue;
            var target = Path.Combine(inbox, name);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var partial = $"{target}.partial-{Guid.NewGuid():N}";
            await using (var source = File.OpenRead(file))
            await using (var copy = new FileStream(partial, FileMode.CreateNew, FileAccess.Write))
                await source.CopyToAsync(copy, cancellationToken);
            File.Move(partial, target, overwrite: true);
            names.Add(name);
        }
        return [.. names];
    }

    /// <summary>Coordinator side: deletes an attempt's inbox (its result was refused, or its files were taken).</summary>
    public static void Discard(string store, LeaseTicket ticket)
    {
        try
        {
            var inbox = Inbox(store, ticket);
            if (Directory.Exists(inbox)) Directory.Delete(inbox, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover inbox holds no run's outputs; the next attempt of the run uses its own.
        }
    }
}
