using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Turns latents by quarter turns, as ComfyUI's LatentRotate.</summary>
[Node("latent.rotate", "1.0.0", Category = "latent", Title = "Rotate Latent",
    Description = "Turns each latent clockwise by 90, 180 or 270 degrees, as ComfyUI's LatentRotate (torch.rot90 from the width axis to the height axis); 90 and 270 swap width and height. Noise indices are kept.")]
public sealed class LatentRotateNode : INode
{
    /// <summary>The latents.</summary>
    [Input(Description = "The latents to turn.")]
    public Latent? Latent { get; set; }

    /// <summary>How far.</summary>
    [Parameter(Description = "The clockwise turn.", Choices = ["none", "90 degrees", "180 degrees", "270 degrees"])]
    public string Rotation { get; set; } = "none";

    /// <summary>The turned latents.</summary>
    [Output(Description = "The turned latents.")]
    public Latent? Rotated { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var latent = Latent!;
        var (values, height, width) = PlanarTransform.Rotate(latent.Values, latent.Batch * latent.Channels, latent.Height, latent.Width, PlanarTransform.QuarterTurns(Rotation));
        Rotated = new Latent(latent.Batch, latent.Channels, height, width, values, latent.Seeds) { NoiseIndices = latent.NoiseIndices };
        return Task.CompletedTask;
    }
}
