namespace FlowDiffusion.Server.Runs;

/// <summary>
/// The run queue and history. Behind an interface so that a shared store can later feed workers on several machines.
/// </summary>
public interface IRunStore
{
    /// <summary>
    /// Enqueues a run. With an idempotency key already used, returns that earlier run and <c>Created = false</c>.
    /// </summary>
    Task<(RunRecord Run, bool Created)> AddAsync(RunSubmission submission, CancellationToken cancellationToken);

    /// <summary>One run, or null.</summary>
    Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Run history, newest first, optionally of one state.</summary>
    Task<RunPage> ListAsync(RunState? status, int offset, int limit, CancellationToken cancellationToken);

    /// <summary>Takes the next queued run (highest priority, then oldest) and marks it running; null when none waits.</summary>
    Task<RunRecord?> ClaimNextAsync(CancellationToken cancellationToken);

    /// <summary>Records a running run's end.</summary>
    Task FinishAsync(string id, RunFinish finish, CancellationToken cancellationToken);

    /// <summary>Puts a running run back in the queue without counting the attempt (the host is stopping).</summary>
    Task RequeueAsync(string id, CancellationToken cancellationToken);

    /// <summary>Cancels a run that is still queued; false when it is not queued.</summary>
    Task<bool> CancelQueuedAsync(string id, CancellationToken cancellationToken);

    /// <summary>Deletes a run in a final state; false when missing or still queued or running.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// After a crash: every run left <see cref="RunState.Running"/> is re-queued if this was its first attempt,
    /// otherwise marked <see cref="RunState.Interrupted"/>. Queued runs stay queued.
    /// </summary>
    Task<RecoveryResult> RecoverAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Retention: deletes runs in a final state that finished before <paramref name="finishedBefore"/>, and all but the
    /// newest <paramref name="keepNewest"/> of them; queued and running runs are never touched. Returns the deleted ids.
    /// </summary>
    Task<IReadOnlyList<string>> PruneAsync(DateTimeOffset? finishedBefore, int? keepNewest, CancellationToken cancellationToken);
}
