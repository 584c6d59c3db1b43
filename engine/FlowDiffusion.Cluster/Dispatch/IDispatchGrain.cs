using FlowDiffusion.Cluster.Routing;

namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>
/// The cluster's dispatcher: one activation (key 0), placed on the coordinator silo, owns the assignment of runs to
/// worker slots; the run store stays the source of truth (every claim, renewal and result is a fenced store write).
/// Every call is short (a store write or two): inference runs on the workers' threads, never in a grain turn.
/// </summary>
public interface IDispatchGrain : IGrainWithIntegerKey
{
    /// <summary>A worker slot asks for a run with its capabilities; null when none fits it now (it asks again after a short wait).</summary>
    Task<ClaimedRun?> ClaimAsync(WorkerCapabilities capabilities);

    /// <summary>Progress doubles as heartbeat: the events since the last call, and the lease is renewed.</summary>
    Task<LeaseAnswer> HeartbeatAsync(LeaseTicket ticket, WireEvent[] events);

    /// <summary>One chunk of an output file of the attempt (Orleans messages are capped, so files travel in pieces); false when the lease is stale.</summary>
    Task<bool> WriteOutputAsync(LeaseTicket ticket, string file, long offset, byte[] chunk);

    /// <summary>The attempt ended; false when the lease is stale and the result was refused.</summary>
    Task<bool> CompleteAsync(LeaseTicket ticket, WorkerFinish finish);

    /// <summary>The worker gives the run back without counting the attempt (it is stopping).</summary>
    Task<bool> ReleaseAsync(LeaseTicket ticket, string reason);

    /// <summary>A worker slot stops asking for runs.</summary>
    Task LeaveAsync(string worker);

    /// <summary>Why a queued run still waits (for the API), or null when it is not queued.</summary>
    Task<string?> WhyWaitingAsync(string runId);

    /// <summary>Wakes the dispatcher (a run was submitted; the coordinator started): starts its lease and membership sweep.</summary>
    Task WakeAsync();
}
