namespace FlowDiffusion.Server.Runs;

/// <summary>How a run ended, as recorded.</summary>
/// <param name="Status">A final state.</param>
/// <param name="NodesJson">Per-node timings as a JSON array.</param>
/// <param name="OutputsJson">Output files relative to the run folder as a JSON array.</param>
/// <param name="Error">Why it failed.</param>
public sealed record RunFinish(RunState Status, string NodesJson, string OutputsJson, string? Error = null);
