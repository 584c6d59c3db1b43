using FlowDiffusion.Imaging.Compositing;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>A1111's inpainting "fill": the masked pixels painted with the blurred colours around them.</summary>
[Node("image.masked_fill", "1.0.0", Category = "image/compositing", Title = "Masked Fill (A1111)",
    Description = "A1111's masking.fill, which its inpainting_fill 0, 2 and 3 apply before encoding: the image and mask rounded to 8 bits, the image premultiplied through the inverted mask, then Pillow's GaussianBlur at radii 256, 64, 16 (twice), 4 (four times), 2 (twice) and 0 alpha-composited in turn over a transparent image, in Pillow's 8-bit arithmetic. Unmasked pixels keep their (8-bit) value; masked ones take the surroundings' colours.")]
public sealed class ImageMaskedFillNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to fill.")]
    public Image? Image { get; set; }

    /// <summary>The mask.</summary>
    [Input(Description = "Where to fill (1), of the images' size; one mask for the batch or one per image.")]
    public Mask? Mask { get; set; }

    /// <summary>The filled images.</summary>
    [Output(Description = "The images with the masked pixels filled, 8-bit values.")]
    public Image? Filled { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var (image, mask) = (Image!, Mask!);
        if (mask.Height != image.Height || mask.Width != image.Width)
            throw new ArgumentException($"mask: {mask.Width}x{mask.Height} differs from the image's {image.Width}x{image.Height}; bring both to one size first");
        if (mask.Batch != 1 && mask.Batch != image.Batch)
            throw new ArgumentException($"mask: a batch of {mask.Batch} masks for {image.Batch} images; give one mask or one per image");
        var plane = image.Height * image.Width;
        var pixels = new float[image.Batch * 3 * plane];
        for (var b = 0; b < image.Batch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            MaskedFill.Fill(image.PixelsOf(b), mask.Values.Slice(b % mask.Batch * plane, plane), image.Height, image.Width).CopyTo(pixels.AsSpan(b * 3 * plane));
        }

        Filled = new Image(image.Batch, image.Height, image.Width, pixels);
        return Task.CompletedTask;
    }
}
