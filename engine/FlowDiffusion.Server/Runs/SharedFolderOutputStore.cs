using System.Collections.Concurrent;
using FlowDiffusion.Server.Api;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// Outputs of every run in one folder the user chose (the CLI's <c>outputs/</c> or <c>--out DIR</c>), beside files of
/// earlier runs: nodes number their files and never overwrite one, so runs do not clash. Unlike
/// <see cref="LocalOutputStore"/> the folder is not the run's own, so nothing in it is removed before an attempt; a run
/// knows, finds and deletes only the files it committed.
/// </summary>
public sealed class SharedFolderOutputStore(string folder) : IOutputStore
{
    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> _committed = new(StringComparer.Ordinal);

    /// <summary>The folder every run writes into.</summary>
    public string Folder { get; } = Path.GetFullPath(folder);

    /// <inheritdoc />
    public string PrepareAttempt(string runId)
    {
        Directory.CreateDirectory(Folder);
        return Folder;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> CommitAsync(string runId, IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> names = files
            .Select(f => Path.GetRelativePath(Folder, Path.GetFullPath(f, Folder)).Replace('\\', '/'))
            .Where(f => !f.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(f))
            .ToList();
        _committed[runId] = names;
        return Task.FromResult(names);
    }

    /// <summary>The full path of an output name the run record lists.</summary>
    public string PathOf(string name) => Path.GetFullPath(name, Folder);

    /// <inheritdoc />
    public string? Find(string runId, string? file) =>
        file is not null && _committed.TryGetValue(runId, out var names) && names.Contains(file, StringComparer.Ordinal)
            ? ContainedFile.Resolve(Folder, file)
            : null;

    /// <inheritdoc />
    public void Delete(string runId)
    {
        if (!_committed.TryRemove(runId, out var names)) return;
        foreach (var name in names)
        {
            if (ContainedFile.Resolve(Folder, name) is { } path) File.Delete(path);
        }
    }
}
