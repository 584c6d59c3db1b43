using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// Where runs go: the one interface the API, the editor and other front ends (a ComfyUI layer, a bot) submit, watch and
/// cancel runs through, and the one workers execute them through. The embedded backend
/// (<see cref="EmbeddedRunBackend"/>: SQLite store, in-process event bus, local outputs, executed by
/// <see cref="RunDispatcher"/> in the same process) is the default; a cluster backend implements the same verbs with
/// remote workers. Worker verbs are fenced by <see cref="RunLease"/>: a worker that lost its lease (its run was
/// re-claimed after it stopped answering) has its heartbeats answered <see cref="LeaseRenewal.Lost"/> and its result refused.
/// </summary>
public interface IRunBackend
{
    /// <summary>Where the outputs of runs are kept.</summary>
    IOutputStore Outputs { get; }

    /// <summary>
    /// Enqueues a run (the workflow text, already validated by the caller, and its inputs as JSON). With an idempotency
    /// key already used, returns that earlier run and <c>Created = false</c>.
    /// </summary>
    Task<(RunRecord Run, bool Created)> SubmitAsync(RunSubmission submission, CancellationToken cancellationToken);

    /// <summary>
    /// Enqueues a run as <see cref="SubmitAsync"/> does and subscribes to it before any worker is told of it, so the
    /// messages miss none of its events. A later <see cref="SubscribeAsync"/> gets what it missed only as the run's state
    /// (the latest preview of each node), or nothing but run_ended when the run is over by then; a front end whose client
    /// needs every preview (ComfyUI's SaveImageWebsocket frames) subscribes here. Enumerate the messages once; until the
    /// run ends they hold a bounded queue on the bus.
    /// </summary>
    Task<(RunRecord Run, bool Created, IAsyncEnumerable<RunMessage> Messages)> SubmitSubscribedAsync(RunSubmission submission, CancellationToken cancellationToken);

    /// <summary>One run, or null.</summary>
    Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Run history, newest first, optionally of one state, without the large fields (see <see cref="IRunStore.ListAsync"/>).</summary>
    Task<RunPage> ListAsync(RunState? status, int offset, int limit, CancellationToken cancellationToken);

    /// <summary>Cancels a queued run at once, or has a running one stopped by its worker.</summary>
    Task<CancelOutcome> CancelAsync(string id, CancellationToken cancellationToken);

    /// <summary>Deletes a run in a final state with its outputs; false when missing or still queued or running.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// The run's events (<see cref="RunMessage"/>): its state first, then live events, ending with <c>run_ended</c>.
    /// Empty when the run does not exist.
    /// </summary>
    IAsyncEnumerable<RunMessage> SubscribeAsync(string id, CancellationToken cancellationToken);

    /// <summary>Throws <see cref="RunStoreDamagedException"/> (what is wrong, how to recover) when the backend cannot serve runs.</summary>
    Task CheckAsync(CancellationToken cancellationToken);

    /// <summary>Worker: takes the next queued run under a lease for <paramref name="owner"/>, with its attempt number; null when none waits.</summary>
    Task<RunRecord?> ClaimAsync(string owner, CancellationToken cancellationToken);

    /// <summary>Worker: heartbeat; renews the lease and says whether to go on, cancel, or stop (lost).</summary>
    Task<LeaseRenewal> HeartbeatAsync(RunLease lease, CancellationToken cancellationToken);

    /// <summary>Worker: one event of the attempt under <paramref name="lease"/> (progress, previews, node ends) for subscribers.</summary>
    void Publish(RunLease lease, RunEvent item);

    /// <summary>Worker: a line for the run's log.</summary>
    void Log(RunLease lease, string text);

    /// <summary>Worker: the attempt ended (completed, failed or cancelled); false when the lease is stale and the result was refused.</summary>
    Task<bool> CompleteAsync(RunLease lease, RunFinish finish, CancellationToken cancellationToken);

    /// <summary>Worker: the attempt failed outside the workflow (it could not start, say); false when the lease is stale.</summary>
    Task<bool> FailAsync(RunLease lease, string error, CancellationToken cancellationToken) =>
        CompleteAsync(lease, new RunFinish(RunState.Failed, "[]", "[]", error), cancellationToken);

    /// <summary>Worker: gives the run back to the queue without counting the attempt (the worker is stopping).</summary>
    Task<bool> ReleaseAsync(RunLease lease, string reason, CancellationToken cancellationToken);
}
