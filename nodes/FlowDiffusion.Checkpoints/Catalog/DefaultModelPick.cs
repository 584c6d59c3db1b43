namespace FlowDiffusion.Checkpoints.Catalog;

/// <summary>A model picked in place of a workflow's default.</summary>
/// <param name="Path">The model, relative to the home when inside it (<c>models/checkpoints/mine.safetensors</c>).</param>
/// <param name="Family">SD 1.x, SD 2.x or SDXL.</param>
/// <param name="NativeSize">The image side the model draws at natively.</param>
/// <param name="Reason">Why it was picked, for the CLI, the log and the editor.</param>
public sealed record DefaultModelPick(string Path, string Family, int NativeSize, string Reason);
