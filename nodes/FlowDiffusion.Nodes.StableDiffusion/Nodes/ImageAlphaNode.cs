using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>
/// Images and their alpha mask brought to one size and batch, as ComfyUI's JoinImageWithAlpha lays them into an RGBA image
/// (images carry RGB here, so the alpha travels beside them as a mask).
/// </summary>
[Node("image.alpha", "1.0.0", Category = "image/compositing", Title = "Image with Alpha",
    Description = "Pairs images with an alpha mask as ComfyUI's JoinImageWithAlpha does: both are repeated to the larger batch (or cut to it), and the mask (ComfyUI's 1 − alpha) is resized bilinearly to the images' size. Without a mask the images are opaque: a mask of 0, as SplitImageWithAlpha gives for an image without alpha.")]
public sealed class ImageAlphaNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images.")]
    public Image? Image { get; set; }

    /// <summary>The alpha mask.</summary>
    [Input(Description = "The mask, 1 − alpha (0 opaque, 1 transparent); none: opaque.", Optional = true)]
    public Mask? Alpha { get; set; }

    /// <summary>The images at the joint batch.</summary>
    [Output(Description = "The images, repeated to the joint batch.")]
    public Image? Images { get; set; }

    /// <summary>The mask at the images' size and the joint batch.</summary>
    [Output(Description = "The mask (1 − alpha) at the images' size, repeated to the joint batch.")]
    public Mask? Mask { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        int height = image.Height, width = image.Width, plane = height * width;
        if (Alpha is not { } alpha)
        {
            Images = image;
            Mask = new Mask(image.Batch, height, width, new float[image.Batch * plane]);
            return Task.CompletedTask;
        }

        var batch = Math.Max(image.Batch, alpha.Batch);
        if ((long)batch * plane > Math.Max((long)image.Batch * plane, (long)alpha.Batch * alpha.Height * alpha.Width))
            throw new ArgumentException($"alpha's {alpha.Batch} masks would make {batch} of the {width}×{height} images, more pixels than either input holds; join a batch of images instead");
        var resized = alpha.Height == height && alpha.Width == width
            ? alpha.Values
            : PlanarResize.Resize(alpha.Values, alpha.Batch, alpha.Height, alpha.Width, height, width, "bilinear", centerCrop: false);
        var pixels = new float[batch * 3 * plane];
        var mask = new float[batch * plane];
        for (var b = 0; b < batch; b++)
        {
            image.PixelsOf(b % image.Batch).CopyTo(pixels.AsSpan(b * 3 * plane));
            resized.Slice(b % alpha.Batch * plane, plane).CopyTo(mask.AsSpan(b * plane));
        }

        Images = new Image(batch, height, width, pixels);
        Mask = new Mask(batch, height, width, mask);
        return Task.CompletedTask;
    }
}
