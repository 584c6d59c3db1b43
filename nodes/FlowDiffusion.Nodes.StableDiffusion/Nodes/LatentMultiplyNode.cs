using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Scales latents, as ComfyUI's LatentMultiply.</summary>
[Node("latent.multiply", "1.0.0", Category = "latent/advanced", Title = "Multiply Latent",
    Description = "Every value × multiplier (in float32), as ComfyUI's LatentMultiply. The result keeps the seeds and noise indices.")]
public sealed class LatentMultiplyNode : INode
{
    /// <summary>The latents.</summary>
    [Input(Description = "The latents to scale.")]
    public Latent? Samples { get; set; }

    /// <summary>The factor.</summary>
    [Parameter(Description = "What every value is multiplied by.", Min = -10, Max = 10, Step = 0.01)]
    public double Multiplier { get; set; } = 1;

    /// <summary>The scaled latents.</summary>
    [Output(Description = "The latents × multiplier.")]
    public Latent? Product { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var latent = Samples!;
        if (!(Multiplier is >= -10 and <= 10)) throw new ArgumentException($"multiplier must be −10 … 10; got {Multiplier}");
        var factor = (float)Multiplier;
        var values = latent.ToArray();
        for (var i = 0; i < values.Length; i++) values[i] *= factor;
        Product = new Latent(latent.Batch, latent.Channels, latent.Height, latent.Width, values, latent.Seeds) { NoiseIndices = latent.NoiseIndices };
        return Task.CompletedTask;
    }
}
