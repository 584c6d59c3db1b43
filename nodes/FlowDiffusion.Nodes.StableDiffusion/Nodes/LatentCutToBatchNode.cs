using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Cuts latents into slices along one dimension and makes each slice a batch item, as ComfyUI's LatentCutToBatch.</summary>
[Node("latent.cut_to_batch", "1.0.0", Category = "latent", Title = "Cut Latents to Batch",
    Description = "Slices of slice_size latent positions along a dimension become batch items, as ComfyUI's LatentCutToBatch: x cuts columns, y rows; item b's slices follow one another (b · n + k is its k-th). Positions past the last whole slice are dropped; a slice_size larger than the dimension takes it whole. t passes the latents through unchanged (on an image latent it names the channels, which ComfyUI leaves alone). Latents with noise indices (from latent.from_batch, latent.batch or latent.seed_behavior) are refused when the batch grows; seeds are dropped then.")]
public sealed class LatentCutToBatchNode : INode
{
    /// <summary>The latents.</summary>
    [Input(Description = "The latents to cut.")]
    public Latent? Samples { get; set; }

    /// <summary>The dimension.</summary>
    [Parameter(Description = "t: unchanged (an image latent has no time axis); x: columns; y: rows.", Choices = ["t", "x", "y"])]
    public string Dim { get; set; } = "t";

    /// <summary>The slice length.</summary>
    [Parameter(Description = "Latent positions (image pixels / 8) per slice.", Min = 1, Max = 16384)]
    public int SliceSize { get; set; } = 1;

    /// <summary>The slices.</summary>
    [Output(Description = "The slices, one batch item each.")]
    public Latent? Batched { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var latent = Samples!;
        if (SliceSize < 1) throw new ArgumentException($"slice_size {SliceSize} must be at least 1");
        var axis = LatentAxis.Of(latent, Dim);
        // ComfyUI leaves an axis before height (on a 4-D latent the channels) alone.
        if (axis.Axis < 2)
        {
            Batched = latent;
            return Task.CompletedTask;
        }

        var slice = Math.Min(SliceSize, axis.Length);
        var count = axis.Length / slice;
        if (count > 1 && latent.NoiseIndices is not null)
            throw new ArgumentException($"samples carries noise indices (ComfyUI's batch_index) for its {latent.Batch} items, which {latent.Batch * count} slices would not match; cut before latent.from_batch, latent.batch or latent.seed_behavior");
        var perItem = axis.Outer / latent.Batch;
        var shape = axis.Shape(latent, slice);
        var values = new float[latent.Batch * count * perItem * slice * axis.Inner];
        var target = 0;
        for (var b = 0; b < latent.Batch; b++)
        for (var k = 0; k < count; k++)
        for (var o = 0; o < perItem; o++)
        {
            latent.Values.Slice(((b * perItem + o) * axis.Length + k * slice) * axis.Inner, slice * axis.Inner).CopyTo(values.AsSpan(target));
            target += slice * axis.Inner;
        }

        Batched = new Latent(latent.Batch * count, shape[1], shape[2], shape[3], values, count == 1 ? latent.Seeds : null) { NoiseIndices = latent.NoiseIndices };
        return Task.CompletedTask;
    }
}
