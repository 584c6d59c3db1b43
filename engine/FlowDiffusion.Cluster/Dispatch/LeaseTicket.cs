using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>A worker's proof of its claim on one attempt of a run (the fencing token every later call carries).</summary>
/// <param name="RunId">The run.</param>
/// <param name="Attempt">The attempt number the claim gave.</param>
/// <param name="Owner">The worker slot that claimed it.</param>
[GenerateSerializer, Immutable]
public sealed record LeaseTicket([property: Id(0)] string RunId, [property: Id(1)] int Attempt, [property: Id(2)] string Owner)
{
    /// <summary>The store's lease this ticket names (the store fences on run, attempt and owner; the expiry is not compared).</summary>
    public RunLease Lease => new(RunId, Attempt, Owner, DateTimeOffset.MinValue);
}
