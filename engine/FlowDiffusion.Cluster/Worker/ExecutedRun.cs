namespace FlowDiffusion.Cluster.Worker;

/// <summary>How a run ended on its slot.</summary>
/// <param name="Status">completed, failed or cancelled.</param>
/// <param name="NodesJson">Per-node timings as a JSON array.</param>
/// <param name="Files">The files it wrote (full paths inside its folder).</param>
/// <param name="Error">Why it failed.</param>
public sealed record ExecutedRun(string Status, string NodesJson, IReadOnlyList<string> Files, string? Error);
