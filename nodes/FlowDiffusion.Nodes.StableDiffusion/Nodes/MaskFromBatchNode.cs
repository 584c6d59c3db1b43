using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Cuts a latent batch's noise mask as latent.from_batch cuts the latents, as ComfyUI's LatentFromBatch does.</summary>
[Node("mask.from_batch", "1.0.0", Category = "latent", Title = "Noise Mask From Batch",
    Description = "The noise mask of the items latent.from_batch takes from latent with the same batch_index and length, by ComfyUI's LatentFromBatch rule: a mask of one image stays whole; a batch of masks shorter than the latents' is repeated to their batch first, so item i takes mask i modulo the masks' batch.")]
public sealed class MaskFromBatchNode : INode
{
    /// <summary>The noise mask.</summary>
    [Input(Description = "The latent batch's noise mask.")]
    public Mask? Mask { get; set; }

    /// <summary>The latent batch.</summary>
    [Input(Description = "The latent batch the mask belongs to (only its batch size is read).")]
    public Latent? Latent { get; set; }

    /// <summary>The first item.</summary>
    [Parameter(Description = "The first item taken (0 = the first of the batch); past the latents' end, the last.", Min = 0, Max = 63)]
    public int BatchIndex { get; set; }

    /// <summary>How many items.</summary>
    [Parameter(Description = "How many items to take; fewer where the latents end.", Min = 1, Max = 64)]
    public int Length { get; set; } = 1;

    /// <summary>The items' mask.</summary>
    [Output(Description = "The noise mask of the items taken.")]
    public Mask? Items { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Mask mask = Mask!;
        var batch = Latent!.Batch;
        if (BatchIndex is < 0 or > 63) throw new ArgumentException($"batch_index must be 0 … 63; got {BatchIndex}");
        if (Length is < 1 or > 64) throw new ArgumentException($"length must be 1 … 64; got {Length}");
        if (mask.Batch == 1)
        {
            Items = mask;
            return Task.CompletedTask;
        }

        var first = Math.Min(batch - 1, BatchIndex);
        var count = Math.Min(batch - first, Length);
        var plane = mask.Height * mask.Width;
        var values = new float[count * plane];
        for (var i = 0; i < count; i++) mask.Values.Slice((first + i) % mask.Batch * plane, plane).CopyTo(values.AsSpan(i * plane));
        Items = new Mask(count, mask.Height, mask.Width, values);
        return Task.CompletedTask;
    }
}
