namespace FlowDiffusion.Editor.Running;

/// <summary>An output file of a past run and its thumbnail (a data URL; null for a file that is no image).</summary>
public sealed record HistoryOutput(string File, string? Thumbnail);
