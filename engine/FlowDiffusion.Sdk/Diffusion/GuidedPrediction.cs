namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// A guider's prediction for one step with the unconditional prediction it was guided from, for samplers that step
/// with both (ComfyUI's CFG++ samplers read it as <c>uncond_denoised</c>).
/// </summary>
/// <param name="Guided">The guided prediction, exactly as <see cref="IGuider.PredictAsync"/> returns it (rescale included), [batch, 4, h, w].</param>
/// <param name="Unconditional">
/// The unconditional (negative) prediction before guidance and rescale, [batch, 4, h, w]; null when the guider has none
/// (a guider without a negative half, or a model that embeds its guidance scale).
/// </param>
public sealed record GuidedPrediction(float[] Guided, float[]? Unconditional);
