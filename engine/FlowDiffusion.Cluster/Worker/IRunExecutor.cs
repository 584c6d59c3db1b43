using FlowDiffusion.Cluster.Dispatch;
using FlowDiffusion.Cluster.Routing;

namespace FlowDiffusion.Cluster.Worker;

/// <summary>
/// What a worker slot executes runs with: the engine (<see cref="EngineRunExecutor"/>), or in routing tests a fake GPU.
/// Called on the slot's own thread, never inside a grain turn.
/// </summary>
public interface IRunExecutor
{
    /// <summary>The slot's capabilities now, for its next claim.</summary>
    /// <param name="worker">The slot id (<see cref="WorkerId"/>).</param>
    /// <param name="loadedModel">The model the slot's last run loaded, or null.</param>
    /// <param name="slots">How many slots the worker runs (they share its memory).</param>
    WorkerCapabilities Describe(string worker, string? loadedModel, int slots);

    /// <summary>Executes <paramref name="run"/>, writing its files into <paramref name="folder"/> and passing its events to <paramref name="publish"/>.</summary>
    Task<ExecutedRun> ExecuteAsync(ClaimedRun run, string folder, Action<WireEvent> publish, CancellationToken cancellationToken);

    /// <summary>
    /// Runs the configured warm-up (<c>FlowDiffusion:Server:WarmUp</c>) before the slots' first claim; returns the model it
    /// loaded (as runs name it), or null. Nothing by default.
    /// </summary>
    Task<string?> WarmUpAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);
}
