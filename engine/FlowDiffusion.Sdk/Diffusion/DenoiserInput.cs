using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>One model evaluation: the (scaled) model input, its timestep and the conditioning per batch item.</summary>
/// <param name="Sample">The model input [batch, channels, h, w]; for a 9-channel inpainting UNet the mask and masked-image latents are already appended.</param>
/// <param name="Shape">The shape of <paramref name="Sample"/>.</param>
/// <param name="Timestep">The scheduler timestep (may be fractional).</param>
/// <param name="Context">Conditioning with the same batch as the sample, or batch 1 to use for every item.</param>
public sealed record DenoiserInput(ReadOnlyMemory<float> Sample, LatentShape Shape, float Timestep, Conditioning Context);
