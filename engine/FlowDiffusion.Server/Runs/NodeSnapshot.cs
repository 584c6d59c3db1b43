namespace FlowDiffusion.Server.Runs;

/// <summary>One node's state in a <see cref="RunSnapshot"/>.</summary>
/// <param name="State">queued, running, cached, finished or failed.</param>
/// <param name="Step">The last step reported.</param>
/// <param name="TotalSteps">Its step count, when it reported one.</param>
/// <param name="DurationMs">Execution time, once finished.</param>
/// <param name="Error">Why it failed.</param>
public sealed record NodeSnapshot(string State, int Step = 0, int TotalSteps = 0, double? DurationMs = null, string? Error = null);
