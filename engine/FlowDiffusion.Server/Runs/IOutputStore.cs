namespace FlowDiffusion.Server.Runs;

/// <summary>
/// Where runs' output files live. A worker asks for a folder to write an attempt's files into
/// (<see cref="PrepareAttempt"/>), then hands the files it wrote to <see cref="CommitAsync"/>, which keeps them and
/// returns the names the run record lists; the API serves them through <see cref="Find"/>. The local folder
/// (<see cref="LocalOutputStore"/>) is the default; a shared or remote store implements the same verbs.
/// </summary>
public interface IOutputStore
{
    /// <summary>
    /// A writable folder for the next attempt of run <paramref name="runId"/>, emptied of whatever an earlier unfinished
    /// attempt left, so a run's outputs are one set. Throws <see cref="IOException"/> naming the folder when it cannot be emptied.
    /// </summary>
    string PrepareAttempt(string runId);

    /// <summary>Keeps the files an attempt wrote (full paths) and returns their names relative to the run, as the record lists them.</summary>
    Task<IReadOnlyList<string>> CommitAsync(string runId, IReadOnlyList<string> files, CancellationToken cancellationToken);

    /// <summary>A local path to read output <paramref name="file"/> of run <paramref name="runId"/> from, or null when refused or missing.</summary>
    string? Find(string runId, string? file);

    /// <summary>Deletes every output of run <paramref name="runId"/>.</summary>
    void Delete(string runId);
}
