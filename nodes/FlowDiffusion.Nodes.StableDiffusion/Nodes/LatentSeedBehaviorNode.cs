using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Chooses whether a batch's items share one noise, as ComfyUI's LatentBatchSeedBehavior.</summary>
[Node("latent.seed_behavior", "1.0.0", Category = "latent/advanced", Title = "Latent Batch Seed Behavior",
    Description = "Sets the latents' noise indices (ComfyUI's batch_index), as ComfyUI's LatentBatchSeedBehavior: fixed gives every item the first item's index (0 when there are none), so diffusion.ksampler gives the whole batch the same starting noise; random drops the indices, so item b takes noise item b as in a fresh batch.")]
public sealed class LatentSeedBehaviorNode : INode
{
    /// <summary>The latents.</summary>
    [Input(Description = "The latent batch.")]
    public Latent? Samples { get; set; }

    /// <summary>Fixed or random.</summary>
    [Parameter(Description = "fixed: every item the first item's noise; random: each item its own.", Choices = ["random", "fixed"])]
    public string SeedBehavior { get; set; } = "fixed";

    /// <summary>The latents with their new indices.</summary>
    [Output(Description = "The same values with the noise indices set.")]
    public Latent? Latent { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var latent = Samples!;
        var indices = SeedBehavior switch
        {
            "random" => null,
            "fixed" => Enumerable.Repeat(latent.NoiseIndices is { Count: > 0 } kept ? kept[0] : 0, latent.Batch).ToList(),
            _ => throw new ArgumentException($"seed_behavior must be random or fixed; got '{SeedBehavior}'"),
        };
        Latent = new Latent(latent.Batch, latent.Channels, latent.Height, latent.Width, latent.ToArray(), latent.Seeds) { NoiseIndices = indices };
        return Task.CompletedTask;
    }
}
