namespace FlowDiffusion.Cluster.Routing;

/// <summary>What the claim policy gave a worker: a run, or none and why.</summary>
/// <param name="Run">The run to execute, or null.</param>
/// <param name="Reason">Why this run (affinity, demand) or why none.</param>
public sealed record ClaimDecision(WaitingRun? Run, string Reason);
