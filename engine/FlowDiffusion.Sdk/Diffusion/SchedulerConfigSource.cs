namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>A model's scheduler configuration, as the JSON text of its <c>scheduler/scheduler_config.json</c>.</summary>
/// <param name="Json">The configuration JSON.</param>
/// <param name="Path">The file it was read from, for messages; null when it was not read from a file.</param>
[PortType("SCHEDULER_CONFIG", "#4db6ac")]
public sealed record SchedulerConfigSource(string Json, string? Path);
