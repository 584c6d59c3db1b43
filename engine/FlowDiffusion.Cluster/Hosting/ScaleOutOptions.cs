namespace FlowDiffusion.Cluster.Hosting;

/// <summary>Settings of the cluster, bound from <c>FlowDiffusion:Cluster</c> on the coordinator and on workers.</summary>
public sealed class ScaleOutOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "FlowDiffusion:Cluster";

    /// <summary>The silo name of the coordinator; only that silo hosts the dispatcher.</summary>
    public string CoordinatorSiloName { get; set; } = "flowdiffusion-coordinator";

    /// <summary>How long a claim lasts without a heartbeat, in seconds.</summary>
    public double LeaseSeconds { get; set; } = 10;

    /// <summary>How often a running slot sends its events and renews its lease, in seconds (cancel reaches it within this).</summary>
    public double HeartbeatSeconds { get; set; } = 0.5;

    /// <summary>How long an idle slot waits before asking again when no run fits it, in seconds.</summary>
    public double ClaimPollSeconds { get; set; } = 0.25;

    /// <summary>How many attempts a run gets when its workers die or stop answering; then it fails, saying why.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>How often the dispatcher looks for dead silos and expired leases, in seconds.</summary>
    public double SweepSeconds { get; set; } = 0.25;

    /// <summary>The size of the pieces output files travel in, in bytes (Orleans messages are capped).</summary>
    public int OutputChunkBytes { get; set; } = 256 << 10;

    /// <summary>Orleans membership: seconds a probe waits for an answer (Orleans' default is 5).</summary>
    public double ProbeTimeoutSeconds { get; set; } = 1;

    /// <summary>Orleans membership: missed probes before a silo is suspected (Orleans' default is 3).</summary>
    public int NumMissedProbesLimit { get; set; } = 2;

    /// <summary>
    /// How the dispatcher picks a slot's next run: <see cref="RoutingModes.Affinity"/> (the default: the loaded model, then
    /// the most waiting demand) or <see cref="RoutingModes.RoundRobin"/> (the oldest run the slot can serve; a baseline to compare with).
    /// </summary>
    public string Routing { get; set; } = RoutingModes.Affinity;

    /// <summary>
    /// A folder every member mounts (NFS, SMB, a bind mount): workers write their output files into it (a temporary name, then
    /// a rename) instead of sending them to the coordinator in chunks, and the coordinator moves them into its output store
    /// when the attempt's result is accepted. Set it on the coordinator and on each worker that shares it (each with its own
    /// mount path); null: outputs travel in chunks.
    /// </summary>
    public string? OutputStore { get; set; }

    /// <summary>Worker: how many claim loops (one per GPU or configured CPU slot).</summary>
    public int Slots { get; set; } = 1;

    /// <summary>Worker: its name in lease owners and logs (default: the machine name).</summary>
    public string? WorkerName { get; set; }

    /// <summary>Worker: memory a slot may spend on a run, in bytes (0: half of the memory available to the process, split over slots).</summary>
    public long SlotMemoryBytes { get; set; }
}
