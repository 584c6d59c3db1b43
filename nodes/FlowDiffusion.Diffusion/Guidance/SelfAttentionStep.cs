namespace FlowDiffusion.Diffusion.Guidance;

/// <summary>
/// One evaluation's SAG input (<see cref="GuidancePatches.DegradeForSelfAttention"/>): the degraded x₀ estimate d, the
/// re-noised latents d + x − u, and those latents as the UNet takes them (scaled by c_in, beside the model input's other
/// channels), which the guider predicts with the negative conditioning before <see cref="GuidancePatches.Guide"/>.
/// </summary>
/// <param name="Degraded">d, [batch, out channels, h, w].</param>
/// <param name="Noised">d + x − u, the same shape.</param>
/// <param name="ModelInput">The UNet's input for the second evaluation, [batch, in channels, h, w].</param>
public sealed record SelfAttentionStep(double[] Degraded, double[] Noised, float[] ModelInput);
