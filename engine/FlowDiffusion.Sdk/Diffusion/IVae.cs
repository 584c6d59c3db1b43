using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>A model's VAE: images to latents and back, with the scaling factor applied on both sides.</summary>
[PortType("VAE", "#ff6e6e")]
public interface IVae
{
    /// <summary>The latent scaling factor (0.18215 for SD 1.x).</summary>
    float ScalingFactor { get; }

    /// <summary>Encodes images ([0, 1]) to scaled latents (the distribution's mean).</summary>
    /// <param name="image">The images; width and height must be multiples of 8.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    Task<Latent> EncodeAsync(Image image, CancellationToken cancellationToken);

    /// <summary>Decodes scaled latents to images in [0, 1].</summary>
    /// <param name="latent">The latents.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    Task<Image> DecodeAsync(Latent latent, CancellationToken cancellationToken);
}
