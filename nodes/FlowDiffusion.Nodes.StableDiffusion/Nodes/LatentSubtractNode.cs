using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Subtracts one latent from another, as ComfyUI's LatentSubtract.</summary>
[Node("latent.subtract", "1.0.0", Category = "latent/advanced", Title = "Subtract Latents",
    Description = "samples1 − samples2, value by value, as ComfyUI's LatentSubtract: samples2 is first resized to samples1's size (bilinear, centre-cropped to its aspect) when it differs, and its batch cut or repeated (0, 1, …, 0, 1, …) to samples1's. The result keeps samples1's seeds and noise indices.")]
public sealed class LatentSubtractNode : INode
{
    /// <summary>The first latents.</summary>
    [Input(Description = "The latents subtracted from; the result has their shape.")]
    public Latent? Samples1 { get; set; }

    /// <summary>The second latents.</summary>
    [Input(Description = "The latents subtracted, brought to samples1's shape.")]
    public Latent? Samples2 { get; set; }

    /// <summary>The difference.</summary>
    [Output(Description = "samples1 − samples2.")]
    public Latent? Difference { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var first = Samples1!;
        var values = LatentMatch.To(first, Samples2!, "samples1", "samples2");
        var own = first.Values;
        for (var i = 0; i < values.Length; i++) values[i] = own[i] - values[i];
        Difference = new Latent(first.Batch, first.Channels, first.Height, first.Width, values, first.Seeds) { NoiseIndices = first.NoiseIndices };
        return Task.CompletedTask;
    }
}
