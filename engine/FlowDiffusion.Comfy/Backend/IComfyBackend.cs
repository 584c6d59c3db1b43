using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Comfy.Backend;

/// <summary>
/// What the ComfyUI layer needs from the server's run machinery: submit, cancel, list, read, delete and watch runs.
/// Kept this small so that following a change of the server's dispatch means changing its one implementation.
/// </summary>
public interface IComfyBackend
{
    /// <summary>Queues a workflow; returns the run id, or throws <see cref="ComfyBackendException"/> with the engine's validation errors.</summary>
    /// <param name="yaml">The workflow YAML.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    Task<string> SubmitAsync(string yaml, CancellationToken cancellationToken);

    /// <summary>Cancels a queued or running run; false when it is neither.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    Task<bool> CancelAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Deletes a finished run and its files; false when missing or still active.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    Task<bool> DeleteAsync(string runId, CancellationToken cancellationToken);

    /// <summary>One run, or null.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    Task<ComfyRunInfo?> GetAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Runs in <paramref name="states"/> (queued, running, completed, …), oldest first, at most <paramref name="limit"/>.</summary>
    /// <param name="states">The states wanted.</param>
    /// <param name="limit">The most runs returned.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    Task<IReadOnlyList<ComfyRunInfo>> ListAsync(IReadOnlyCollection<string> states, int limit, CancellationToken cancellationToken);

    /// <summary>The events of a run from its start (replayed when joining late) to its final event; empty when it already ended.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Stops watching.</param>
    IAsyncEnumerable<RunEvent> WatchAsync(string runId, CancellationToken cancellationToken);

    /// <summary>The folder holding the run's output files.</summary>
    /// <param name="runId">The run.</param>
    string RunFolder(string runId);

    /// <summary>The folder every run folder lives in.</summary>
    string OutputFolder { get; }
}

/// <summary>A run as the layer needs it.</summary>
/// <param name="Id">The run id (ComfyUI's prompt_id).</param>
/// <param name="Status">queued, running, completed, failed, cancelled or interrupted.</param>
/// <param name="Submitted">When it was queued.</param>
/// <param name="Started">When it started.</param>
/// <param name="Finished">When it ended.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="Outputs">Its output files, relative to its run folder.</param>
public sealed record ComfyRunInfo(string Id, string Status, DateTimeOffset Submitted, DateTimeOffset? Started, DateTimeOffset? Finished, string? Error, IReadOnlyList<string> Outputs);

/// <summary>The engine refused a workflow: its messages, each with the node id it concerns (ours).</summary>
/// <param name="errors">The validation errors.</param>
public sealed class ComfyBackendException(IReadOnlyList<(string? NodeId, string Message)> errors)
    : Exception(string.Join("; ", errors.Select(e => e.Message)))
{
    /// <summary>The validation errors.</summary>
    public IReadOnlyList<(string? NodeId, string Message)> Errors { get; } = errors;
}
