namespace FlowDiffusion.Server.Runs;

/// <summary>
/// The right to execute one attempt of a run until <paramref name="Expires"/>. Every write about the attempt (heartbeat,
/// requeue, finish) names its lease, and the store refuses it when the run has moved on since: re-claimed by another
/// owner after the lease expired (a newer attempt), cancelled, or deleted. That is the fencing that keeps a late result
/// from an old attempt out of the run's record.
/// </summary>
/// <param name="RunId">The run.</param>
/// <param name="Attempt">The attempt number the claim gave (1 for the first execution).</param>
/// <param name="Owner">Who claimed it (a process or worker id).</param>
/// <param name="Expires">When the claim lapses unless renewed.</param>
public sealed record RunLease(string RunId, int Attempt, string Owner, DateTimeOffset Expires);
