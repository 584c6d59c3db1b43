using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>All-zero latents of a size.</summary>
[Node("latent.empty", "1.0.0", Category = "latent", Title = "Empty Latent",
    Description = "Zero latents for an image of the given size (width and height / 8).")]
public sealed class LatentEmptyNode : INode
{
    /// <summary>Image width.</summary>
    [Parameter(Description = "Image width in pixels (multiple of 8).", Min = 8, Max = 8192, Step = 8)]
    public int Width { get; set; } = 512;

    /// <summary>Image height.</summary>
    [Parameter(Description = "Image height in pixels (multiple of 8).", Min = 8, Max = 8192, Step = 8)]
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
        LatentSize.Check(Width, Height);
        Latent = new Latent(Batch, 4, Height / 8, Width / 8, new float[Batch * 4 * (Height / 8) * (Width / 8)]);
        return Task.CompletedTask;
    }
}
