using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Editor.Running;

/// <summary>One past run in the history panel.</summary>
/// <param name="RunId">The run id.</param>
/// <param name="Status">Where it stands.</param>
/// <param name="Workflow">The saved workflow it ran, when it had a name.</param>
/// <param name="Submitted">When it was queued.</param>
/// <param name="Duration">From start to end, once finished.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="Outputs">Its output files with their thumbnails.</param>
/// <param name="InputsJson">Its input values as a JSON object; null when the list page left them out.</param>
public sealed record HistoryEntry(string RunId, RunState Status, string? Workflow, DateTimeOffset Submitted, TimeSpan? Duration, string? Error,
    IReadOnlyList<HistoryOutput> Outputs, string? InputsJson = null);
