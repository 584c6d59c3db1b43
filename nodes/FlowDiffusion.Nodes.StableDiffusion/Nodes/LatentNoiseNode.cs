using FlowDiffusion.Diffusion.Noise;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Seeded Gaussian latents, identical to torch.randn on CPU.</summary>
[Node("latent.noise", "1.1.0", Category = "latent", Title = "Noise",
    Description = "Standard normal latents exactly as torch.randn draws them on a CPU generator. Image i of a batch uses seed + i, so a batch equals single runs with those seeds.")]
public sealed class LatentNoiseNode : INode
{
    /// <summary>The seed.</summary>
    [Parameter(Description = "The seed of the first image; image i uses seed + i.", Min = 0, Max = 18446744073709551615d, Kind = ParameterKind.Seed)]
    public ulong Seed { get; set; } = 32;

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

    /// <summary>The noise.</summary>
    [Output(Description = "Noise [batch, 4, height/8, width/8] with its per-image seeds.")]
    public Latent? Noise { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var (width, height) = LatentSize.Resolve(Width, Height, Unet);
        int h = height / 8, w = width / 8, item = 4 * h * w;
        var values = new float[Batch * item];
        var seeds = new ulong[Batch];
        for (var i = 0; i < Batch; i++)
        {
            seeds[i] = unchecked(Seed + (ulong)i);
            new TorchGenerator(seeds[i]).FillStandardNormal(values.AsSpan(i * item, item));
        }
        Noise = new Latent(Batch, 4, h, w, values, seeds);
        return Task.CompletedTask;
    }
}
