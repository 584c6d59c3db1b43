using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Joins two latent batches into one, as ComfyUI's LatentBatch.</summary>
[Node("latent.batch", "1.0.0", Category = "latent", Title = "Latent Batch",
    Description = "samples1's items then samples2's, as ComfyUI's LatentBatch: samples2 is first resized to samples1's size (bilinear, centre-cropped to its aspect) when they differ. Each half keeps its noise indices, or takes 0, 1, … when it has none (ComfyUI's batch_index), so diffusion.ksampler gives each half the noise it would have alone: two batches of one get the same noise. At most 64 items.")]
public sealed class LatentBatchNode : INode
{
    /// <summary>The first batch.</summary>
    [Input(Description = "The first items; the result has their size.")]
    public Latent? Samples1 { get; set; }

    /// <summary>The second batch.</summary>
    [Input(Description = "The items after them, resized to the first's size when it differs.")]
    public Latent? Samples2 { get; set; }

    /// <summary>The joined batch.</summary>
    [Output(Description = "Both batches, one after the other, with their noise indices.")]
    public Latent? Batched { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Latent first = Samples1!, second = Samples2!;
        if (first.Batch + second.Batch > 64)
            throw new ArgumentException($"samples1 ({first.Batch}) and samples2 ({second.Batch}) would make a batch of {first.Batch + second.Batch}; at most 64");
        var appended = LatentMatch.Resized(first, second, "samples1", "samples2");
        var values = new float[(first.Batch + second.Batch) * first.ItemLength];
        first.Values.CopyTo(values);
        appended.CopyTo(values.AsSpan(first.Batch * first.ItemLength));
        var seeds = first.Seeds is not null && second.Seeds is not null ? first.Seeds.Concat(second.Seeds).ToList() : null;
        var indices = (first.NoiseIndices ?? Enumerable.Range(0, first.Batch).ToList()).Concat(second.NoiseIndices ?? Enumerable.Range(0, second.Batch).ToList()).ToList();
        Batched = new Latent(first.Batch + second.Batch, first.Channels, first.Height, first.Width, values, seeds) { NoiseIndices = indices };
        return Task.CompletedTask;
    }
}
