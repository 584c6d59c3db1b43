namespace FlowDiffusion.Server.Runs;

/// <summary>One page of run history, newest first, and how many runs match in all.</summary>
public sealed record RunPage(IReadOnlyList<RunRecord> Runs, int Total);
