using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>One model evaluation: the (scaled) model input, its timestep, the conditioning per batch item and any extras.</summary>
/// <param name="Sample">The model input [batch, channels, h, w]; for a 9-channel inpainting UNet the mask and masked-image latents are already appended.</param>
/// <param name="Shape">The shape of <paramref name="Sample"/>.</param>
/// <param name="Timestep">The scheduler timestep (may be fractional).</param>
/// <param name="Context">Conditioning with the same batch as the sample, or batch 1 to use for every item.</param>
/// <remarks>
/// A denoiser wrapper (ControlNet, an adapter) reads what it consumes from <see cref="Extras"/> and delegates with
/// <c>input with { Extras = input.Extras.Without(MyKey) }</c> or with extras of its own for the inner denoiser.
/// </remarks>
public sealed record DenoiserInput(ReadOnlyMemory<float> Sample, LatentShape Shape, float Timestep, Conditioning Context)
{
    /// <summary>
    /// Extra model inputs by kind: the context's extras unless set otherwise. Tensor extras have the sample's batch, or
    /// batch 1 for every item; a guider's batched context has its extras batched the same way as its embeddings.
    /// </summary>
    public Extras Extras { get; init; } = Context.Extras;
}
