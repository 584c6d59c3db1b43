using FlowDiffusion.Server.Api;

namespace FlowDiffusion.Server.Runs;

/// <summary>Outputs in a local folder: <c>root/&lt;run id&gt;/</c>, written in place by the run's nodes.</summary>
public sealed class LocalOutputStore(string root) : IOutputStore
{
    /// <summary>The folder holding one folder per run.</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>The folder of one run.</summary>
    public string FolderOf(string runId) => Path.Combine(Root, runId);

    /// <inheritdoc />
    public string PrepareAttempt(string runId)
    {
        try
        {
            StaleOutputs.Clear(Root, runId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Running on would leave the earlier attempt's files beside this one's, so the run fails instead, saying where.
            throw new IOException($"the files of an earlier attempt in {FolderOf(runId)} could not be removed: {e.Message}", e);
        }
        return FolderOf(runId);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> CommitAsync(string runId, IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        var folder = FolderOf(runId);
        IReadOnlyList<string> names = files
            .Select(f => Path.GetRelativePath(folder, Path.GetFullPath(f, folder)).Replace('\\', '/'))
            .Where(f => !f.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(f))
            .ToList();
        return Task.FromResult(names);
    }

    /// <inheritdoc />
    public string? Find(string runId, string? file) => ContainedFile.Resolve(FolderOf(runId), file);

    /// <inheritdoc />
    public void Delete(string runId)
    {
        var folder = FolderOf(runId);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }
}
