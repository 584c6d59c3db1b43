using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Mirrors latents, as ComfyUI's LatentFlip.</summary>
[Node("latent.flip", "1.0.0", Category = "latent", Title = "Flip Latent",
    Description = "Mirrors each latent, as ComfyUI's LatentFlip: \"x-axis: vertically\" turns it upside down, \"y-axis: horizontally\" swaps left and right. Noise indices are kept.")]
public sealed class LatentFlipNode : INode
{
    /// <summary>The latents.</summary>
    [Input(Description = "The latents to flip.")]
    public Latent? Latent { get; set; }

    /// <summary>Which way.</summary>
    [Parameter(Description = "x-axis: vertically (top ↔ bottom) or y-axis: horizontally (left ↔ right).", Choices = ["x-axis: vertically", "y-axis: horizontally"])]
    public string FlipMethod { get; set; } = "x-axis: vertically";

    /// <summary>The flipped latents.</summary>
    [Output(Description = "The flipped latents.")]
    public Latent? Flipped { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var latent = Latent!;
        var values = PlanarTransform.Flip(latent.Values, latent.Batch * latent.Channels, latent.Height, latent.Width, PlanarTransform.Vertically(FlipMethod));
        Flipped = new Latent(latent.Batch, latent.Channels, latent.Height, latent.Width, values, latent.Seeds) { NoiseIndices = latent.NoiseIndices };
        return Task.CompletedTask;
    }
}
