using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Latents to images.</summary>
[Node("vae.decode", "1.0.0", Category = "latent", Title = "VAE Decode",
    Description = "Undoes the VAE scaling factor and decodes latents to images in [0, 1].")]
public sealed class VaeDecodeNode : INode
{
    /// <summary>The VAE.</summary>
    [Input(Description = "The VAE.")]
    public IVae? Vae { get; set; }

    /// <summary>The latents.</summary>
    [Input(Description = "Scaled latents.")]
    public Latent? Latent { get; set; }

    /// <summary>The images.</summary>
    [Output(Description = "Decoded images.")]
    public Image? Image { get; set; }

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        using var clock = OnnxClock.Attribute(context);
        Image = await Vae!.DecodeAsync(Latent!, cancellationToken);
    }
}
