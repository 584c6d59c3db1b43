using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>A fast, approximate look at latents without the VAE.</summary>
[Node("latent.preview", "1.0.0", Category = "latent", Title = "Latent Preview",
    Description = "Fast linear latent → RGB approximation (no VAE), upscaled to image size. Good for previews; not for final images.")]
public sealed class LatentPreviewNode : INode
{
    /// <summary>The latents.</summary>
    [Input(Description = "SD 1.x latents (4 channels).")]
    public Latent? Latent { get; set; }

    /// <summary>The preview.</summary>
    [Output(Description = "Approximate images.")]
    public Image? Image { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var latent = Latent!;
        Image = LatentRgb.ToImage(latent.Values, latent.Batch, latent.Channels, latent.Height, latent.Width);
        return Task.CompletedTask;
    }
}
