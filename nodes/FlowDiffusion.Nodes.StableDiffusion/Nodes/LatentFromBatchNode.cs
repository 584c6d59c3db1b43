using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Cuts items out of a latent batch, keeping the noise they had in it, as ComfyUI's LatentFromBatch.</summary>
[Node("latent.from_batch", "1.0.0", Category = "latent", Title = "Latent From Batch",
    Description = "length items of the batch from batch_index on (an index past the end takes the last item; length stops at the end), as ComfyUI's LatentFromBatch. The items keep their noise indices (ComfyUI's batch_index: their places in the batch, or the indices they already had), so diffusion.ksampler with the same seed gives them the noise they had in the whole batch: re-run one image of a batch alone. mask.from_batch cuts the batch's noise mask the same way.")]
public sealed class LatentFromBatchNode : INode
{
    /// <summary>The batch.</summary>
    [Input(Description = "The latent batch.")]
    public Latent? Latent { get; set; }

    /// <summary>The first item.</summary>
    [Parameter(Description = "The first item taken (0 = the first of the batch); past the end, the last.", Min = 0, Max = 63)]
    public int BatchIndex { get; set; }

    /// <summary>How many items.</summary>
    [Parameter(Description = "How many items to take; fewer where the batch ends.", Min = 1, Max = 64)]
    public int Length { get; set; } = 1;

    /// <summary>The items.</summary>
    [Output(Description = "The items taken, with their noise indices.")]
    public Latent? Items { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var latent = Latent!;
        if (BatchIndex is < 0 or > 63) throw new ArgumentException($"batch_index must be 0 … 63; got {BatchIndex}");
        if (Length is < 1 or > 64) throw new ArgumentException($"length must be 1 … 64; got {Length}");
        var first = Math.Min(latent.Batch - 1, BatchIndex);
        var count = Math.Min(latent.Batch - first, Length);
        var values = latent.Values.Slice(first * latent.ItemLength, count * latent.ItemLength).ToArray();
        var seeds = latent.Seeds?.Skip(first).Take(count).ToList();
        var indices = latent.NoiseIndices is { } kept ? kept.Skip(first).Take(count).ToList() : Enumerable.Range(first, count).ToList();
        Items = new Latent(count, latent.Channels, latent.Height, latent.Width, values, seeds) { NoiseIndices = indices };
        return Task.CompletedTask;
    }
}
