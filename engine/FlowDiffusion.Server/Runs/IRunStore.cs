namespace FlowDiffusion.Server.Runs;

/// <summary>
/// The run queue and history: the source of truth behind every <see cref="IRunBackend"/>. Executing a run is a lease:
/// <see cref="ClaimNextAsync"/> hands out the next queued run with a new attempt number and an expiry, the owner renews
/// it while it works (<see cref="RenewAsync"/>), and ends it with <see cref="FinishAsync"/> or gives it back with
/// <see cref="RequeueAsync"/>. Each of those is refused once the lease is no longer the run's current one, so a
/// worker that lost its run (a crash, a stall past the expiry, then <see cref="ReclaimExpiredAsync"/>) cannot
/// overwrite what the next attempt records. Claiming is one SQL statement, so two processes never claim the same run.
/// </summary>
public interface IRunStore
{
    /// <summary>
    /// Enqueues a run. With an idempotency key already used, returns that earlier run and <c>Created = false</c>.
    /// </summary>
    Task<(RunRecord Run, bool Created)> AddAsync(RunSubmission submission, CancellationToken cancellationToken);

    /// <summary>One run, or null.</summary>
    Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Run history, newest first, optionally of one state. Large fields are left out: <see cref="RunRecord.Yaml"/> is
    /// empty, and inputs longer than <paramref name="maxInputsChars"/> are null (<see cref="RunRecord.InputsLength"/> says how long).
    /// </summary>
    Task<RunPage> ListAsync(RunState? status, int offset, int limit, CancellationToken cancellationToken, int maxInputsChars = 4096);

    /// <summary>
    /// Takes the next queued run (highest priority, then oldest), marks it running under a lease held by
    /// <paramref name="owner"/> for <paramref name="leaseDuration"/>, and counts the attempt; null when none waits.
    /// </summary>
    Task<RunRecord?> ClaimNextAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the queued run <paramref name="id"/> (a dispatcher that routes runs chose it) under a lease held by
    /// <paramref name="owner"/>, counting the attempt; null when it is no longer queued. Stores without routing
    /// dispatchers may leave it unsupported.
    /// </summary>
    Task<RunRecord?> ClaimAsync(string id, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} cannot claim a chosen run");

    /// <summary>
    /// The attempt under <paramref name="lease"/> was lost (its worker died or stopped answering): the run goes back to
    /// the queue, the attempt counted, or, once it has had <paramref name="maxAttempts"/> attempts, fails with
    /// <paramref name="reason"/>. Returns the state it moved to, or null when the lease is no longer current.
    /// </summary>
    Task<RunState?> AbandonAsync(RunLease lease, int maxAttempts, string reason, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} cannot abandon a lease");

    /// <summary>Heartbeat: extends a held lease by <paramref name="leaseDuration"/> from now, and says whether a cancel was asked for.</summary>
    Task<LeaseRenewal> RenewAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken);

    /// <summary>Records how the attempt under <paramref name="lease"/> ended; false (nothing written) when the lease is no longer current.</summary>
    Task<bool> FinishAsync(RunLease lease, RunFinish finish, CancellationToken cancellationToken);

    /// <summary>Puts the run back in the queue without counting the attempt (its owner is stopping); false when the lease is no longer current.</summary>
    Task<bool> RequeueAsync(RunLease lease, CancellationToken cancellationToken);

    /// <summary>Cancels a queued run at once, or flags a running one for its owner to stop.</summary>
    Task<CancelOutcome> CancelAsync(string id, CancellationToken cancellationToken);

    /// <summary>Deletes a run in a final state; false when missing or still queued or running.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// After a crash of the only owner (the embedded backend holds the database alone): every run left
    /// <see cref="RunState.Running"/> is re-queued if this was its first attempt, otherwise marked
    /// <see cref="RunState.Interrupted"/>. Queued runs stay queued.
    /// </summary>
    Task<RecoveryResult> RecoverAsync(CancellationToken cancellationToken);

    /// <summary>
    /// For backends with several owners: every running run whose lease expired before <paramref name="now"/> is re-queued
    /// while it has had fewer than <paramref name="maxAttempts"/> attempts, otherwise marked interrupted with the reason.
    /// </summary>
    Task<RecoveryResult> ReclaimExpiredAsync(DateTimeOffset now, int maxAttempts, CancellationToken cancellationToken);

    /// <summary>
    /// Retention: deletes runs in a final state that finished before <paramref name="finishedBefore"/>, and all but the
    /// newest <paramref name="keepNewest"/> of them; queued and running runs are never touched. Returns the deleted ids.
    /// </summary>
    Task<IReadOnlyList<string>> PruneAsync(DateTimeOffset? finishedBefore, int? keepNewest, CancellationToken cancellationToken);

    /// <summary>Checks that the store can be read and is not damaged; throws <see cref="RunStoreDamagedException"/> when it is.</summary>
    Task CheckAsync(CancellationToken cancellationToken);
}
