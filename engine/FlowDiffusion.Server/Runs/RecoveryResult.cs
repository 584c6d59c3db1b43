namespace FlowDiffusion.Server.Runs;

/// <summary>What crash recovery, or a sweep of expired leases, did with the runs found in flight.</summary>
/// <param name="Requeued">How many went back to the queue.</param>
/// <param name="Interrupted">How many were given up (marked interrupted, with the reason).</param>
public sealed record RecoveryResult(int Requeued, int Interrupted)
{
    /// <summary>The expired leases of the re-queued runs, where the store reports them (a sweep of expired leases does).</summary>
    public IReadOnlyList<RunLease> RequeuedLeases { get; init; } = [];

    /// <summary>The expired leases of the interrupted runs, where the store reports them.</summary>
    public IReadOnlyList<RunLease> InterruptedLeases { get; init; } = [];
}
