using FlowDiffusion.Diffusion.Noise;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Seeded Gaussian latents, identical to torch.randn on CPU.</summary>
[Node("latent.noise", "1.2.0", Category = "latent", Title = "Noise",
    Description = "Standard normal latents exactly as torch.randn draws them on a CPU generator. Image i of a batch uses seed + i, so a batch equals single runs with those seeds. With like connected, the noise takes that latent's size and batch (an image whose size the graph computed, e.g. padded for outpainting).")]
public sealed class LatentNoiseNode : INode
{
    /// <summary>The seed.</summary>
    [Parameter(Description = "The seed of the first image; image i uses seed + i.", Min = 0, Max = 18446744073709551615d, Kind = ParameterKind.Seed)]
    public ulong Seed { get; set; } = 32;

    /// <summary>The model whose native size a 0 width or height means.</summary>
    [Input(Description = "The UNet, read only for its native size when width or height is 0.", Optional = true)]
    public IUNetModel? Unet { get; set; }

    /// <summary>A latent whose size and batch the noise takes.</summary>
    [Input(Description = "Draw noise of this latent's size and batch (e.g. inpaint.prepare's latent_image) instead of width, height and batch.", Optional = true)]
    public Latent? Like { get; set; }

    /// <summary>Image width.</summary>
    [Parameter(Description = "Image width " + LatentSize.SideDescription + ".", Min = 0, Max = 8192, Step = 8)]
    public int Width { get; set; } = 512;

    /// <summary>Image height.</summary>
    [Parameter(Description = "Image height " + LatentSize.SideDescription + ".", Min = 0, Max = 8192, Step = 8)]
    public int Height { get; set; } = 512;

    /// <summary>Batch size.</summary>
    [Parameter(Description = "Number of images.", Min = 1, Max = 64)]
    public int Batch { get; set; } = 1;

    /// <summary>The noise.</summary>
    [Output(Description = "Noise [batch, 4, height/8, width/8] with its per-image seeds.")]
    public Latent? Noise { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var (width, height) = Like is { } like ? (like.Width * 8, like.Height * 8) : LatentSize.Resolve(Width, Height, Unet);
        var batch = Like?.Batch ?? Batch;
        int h = height / 8, w = width / 8, item = 4 * h * w;
        var values = new float[batch * item];
        var seeds = new ulong[batch];
        for (var i = 0; i < batch; i++)
        {
            seeds[i] = unchecked(Seed + (ulong)i);
            new TorchGenerator(seeds[i]).FillStandardNormal(values.AsSpan(i * item, item));
        }
        Noise = new Latent(batch, 4, h, w, values, seeds);
        return Task.CompletedTask;
    }
}
