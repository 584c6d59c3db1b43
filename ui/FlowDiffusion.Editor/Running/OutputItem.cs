namespace FlowDiffusion.Editor.Running;

/// <summary>One output file in the output browser.</summary>
/// <param name="RunId">The run that wrote it.</param>
/// <param name="File">Its name inside the run's folder.</param>
/// <param name="Workflow">The saved workflow the run ran, when it had a name.</param>
/// <param name="Time">When the run finished (when it was queued, for a run without an end).</param>
/// <param name="Thumbnail">A small PNG data URL of it; null for a file that is no image (or before the page is made).</param>
public sealed record OutputItem(string RunId, string File, string? Workflow, DateTimeOffset Time, string? Thumbnail = null);
