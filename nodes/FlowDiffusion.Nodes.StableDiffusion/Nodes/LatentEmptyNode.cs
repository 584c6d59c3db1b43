using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>All-zero latents of a size.</summary>
[Node("latent.empty", "1.1.0", Category = "latent", Title = "Empty Latent",
    Description = "Zero latents for an image of the given size (width and height / 8).")]
public sealed class LatentEmptyNode : INode
{
    /// <summary>The model whose native size a 0 width or height means.</summary>
    [Input(Description = "The UNet, read only for its native size when width or height is 0.", Optional = true)]
    public IUNetModel? Unet { get; set; }

    /// <summary>Image width.</summary>
    [Parameter(Description = "Image width " + LatentSize.SideDescription + ".", Min = 0, Max = 8192, Step = 8)]
    public int Width { get; set; } = 512;

    /// <summary>Image height.</summary>
    [Parameter(Description = "Image height " + LatentSize.SideDescription + ".", Min = 0, Max = 8192, Step = 8)]
    public int Height { get; set; } = 512;

    /// <summary>Batch size.</summary>
    [Parameter(Description = "Number of images.", Min = 1, Max = 64)]
    public int Batch { get; set; } = 1;

    /// <summary>The latents.</summary>
    [Output(Description = "Zero latents [batch, 4, height/8, width/8].")]
    public Latent? Latent { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var (width, height) = LatentSize.Resolve(Width, Height, Unet);
        Latent = new Latent(Batch, 4, height / 8, width / 8, new float[Batch * 4 * (height / 8) * (width / 8)]);
        return Task.CompletedTask;
    }
}
