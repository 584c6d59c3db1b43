using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Joins two image batches into one, as ComfyUI's ImageBatch.</summary>
[Node("image.batch", "1.0.0", Category = "image", Title = "Batch Images",
    Description = "image1's images then image2's, as ComfyUI's ImageBatch: image2 is first resized to image1's size (bilinear, centre-cropped to its aspect) when they differ. At most 64 images.")]
public sealed class ImageBatchNode : INode
{
    /// <summary>The first batch.</summary>
    [Input(Description = "The first images; the result has their size.")]
    public Image? Image1 { get; set; }

    /// <summary>The second batch.</summary>
    [Input(Description = "The images after them, resized to the first's size when it differs.")]
    public Image? Image2 { get; set; }

    /// <summary>The joined batch.</summary>
    [Output(Description = "Both batches, one after the other.")]
    public Image? Batched { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Image first = Image1!, second = Image2!;
        if (first.Batch + second.Batch > 64)
            throw new ArgumentException($"image1 ({first.Batch}) and image2 ({second.Batch}) would make a batch of {first.Batch + second.Batch}; at most 64");
        var itemLength = 3 * first.Height * first.Width;
        var pixels = new float[(first.Batch + second.Batch) * itemLength];
        first.Pixels.CopyTo(pixels);
        var appended = second.Height == first.Height && second.Width == first.Width
            ? second.Pixels
            : PlanarResize.Resize(second.Pixels, second.Batch * 3, second.Height, second.Width, first.Height, first.Width, "bilinear", centerCrop: true);
        appended.CopyTo(pixels.AsSpan(first.Batch * itemLength));
        Batched = new Image(first.Batch + second.Batch, first.Height, first.Width, pixels);
        return Task.CompletedTask;
    }
}
