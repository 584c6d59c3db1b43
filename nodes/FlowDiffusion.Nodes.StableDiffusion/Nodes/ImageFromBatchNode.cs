using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Cuts images out of a batch, as ComfyUI's ImageFromBatch.</summary>
[Node("image.from_batch", "1.0.0", Category = "image", Title = "Image From Batch",
    Description = "length images of the batch from batch_index on (an index past the end takes the last image; length stops at the end), as ComfyUI's ImageFromBatch.")]
public sealed class ImageFromBatchNode : INode
{
    /// <summary>The batch.</summary>
    [Input(Description = "The image batch.")]
    public Image? Image { get; set; }

    /// <summary>The first image.</summary>
    [Parameter(Description = "The first image taken (0 = the first of the batch); past the end, the last.", Min = 0, Max = 4095)]
    public int BatchIndex { get; set; }

    /// <summary>How many images.</summary>
    [Parameter(Description = "How many images to take; fewer where the batch ends.", Min = 1, Max = 4096)]
    public int Length { get; set; } = 1;

    /// <summary>The images.</summary>
    [Output(Description = "The images taken.")]
    public Image? Images { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        if (BatchIndex is < 0 or > 4095) throw new ArgumentException($"batch_index must be 0 … 4095; got {BatchIndex}");
        if (Length is < 1 or > 4096) throw new ArgumentException($"length must be 1 … 4096; got {Length}");
        var first = Math.Min(image.Batch - 1, BatchIndex);
        var count = Math.Min(image.Batch - first, Length);
        var itemLength = 3 * image.Height * image.Width;
        Images = new Image(count, image.Height, image.Width, image.Pixels.Slice(first * itemLength, count * itemLength).ToArray());
        return Task.CompletedTask;
    }
}
