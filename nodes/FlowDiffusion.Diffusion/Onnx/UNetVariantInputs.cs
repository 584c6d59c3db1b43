namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// What a <see cref="UNetVariant"/> call takes beside the sample, timestep and text: each group is given exactly when the
/// graph declares its inputs.
/// </summary>
/// <param name="TextEmbeds">SDXL's pooled text embedding [B, pooled]; null for SD 1.x.</param>
/// <param name="TimeIds">SDXL's size numbers [B, n]; null for SD 1.x.</param>
/// <param name="TimestepCond">An LCM-distilled UNet's guidance-scale embedding [B, width]; null for any other UNet.</param>
/// <param name="Residuals">The summed, scaled ControlNet residuals by name, one for every residual input; null without ControlNets.</param>
/// <param name="ImagePrompt">Each row's IP-Adapter keys and values and per-layer scales; null without an IP-Adapter.</param>
/// <param name="FreeU">FreeU's factors for a graph that takes them; null leaves its inputs at their defaults (the plain UNet).</param>
/// <param name="PagMask">PAG's mask, one value per row (1: the middle block's self-attention replaced by its values); null leaves it at 0.</param>
/// <param name="DeepShrink">Deep Shrink's block, factor and methods for a graph that takes them; null leaves it off (the plain UNet).</param>
/// <param name="HyperTile">HyperTile's settings for a graph that takes its tiles; null tiles nothing (the plain UNet).</param>
/// <param name="TokenMerge">ToMe's ratio for a graph that takes its token order; null merges nothing (the plain UNet).</param>
/// <param name="SagRows">The rows whose SAG attention map the call returns (<see cref="UNetVariant.SagRowsInput"/>); null or empty for none.</param>
public sealed record UNetVariantInputs(
    float[]? TextEmbeds = null,
    float[]? TimeIds = null,
    float[]? TimestepCond = null,
    IReadOnlyDictionary<string, ControlResidual>? Residuals = null,
    IpAttention? ImagePrompt = null,
    FreeUFactors? FreeU = null,
    float[]? PagMask = null,
    DeepShrink? DeepShrink = null,
    int[]? SagRows = null,
    HyperTile? HyperTile = null,
    TokenMerge? TokenMerge = null);
