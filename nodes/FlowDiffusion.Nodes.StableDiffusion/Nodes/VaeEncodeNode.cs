using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Images to latents.</summary>
[Node("vae.encode", "1.0.0", Category = "latent", Title = "VAE Encode",
    Description = "Encodes images to latents (the distribution's mean) and applies the VAE scaling factor.")]
public sealed class VaeEncodeNode : INode
{
    /// <summary>The VAE.</summary>
    [Input(Description = "The VAE.")]
    public IVae? Vae { get; set; }

    /// <summary>The images.</summary>
    [Input(Description = "Images; sides must be multiples of 8.")]
    public Image? Image { get; set; }

    /// <summary>The latents.</summary>
    [Output(Description = "Scaled latents.")]
    public Latent? Latent { get; set; }

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        using var clock = OnnxClock.Attribute(context);
        Latent = await Vae!.EncodeAsync(Image!, cancellationToken);
    }
}
