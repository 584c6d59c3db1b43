using FlowDiffusion.Imaging.Compositing;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Porter-Duff compositing of two images with their alpha masks, as ComfyUI's PorterDuffImageComposite.</summary>
[Node("image.porter_duff", "1.0.0", Category = "image/compositing", Title = "Porter-Duff Image Composite",
    Description = "Composites source and destination by a Porter-Duff mode, as ComfyUI's PorterDuffImageComposite: the alpha masks are ComfyUI's (1 − alpha, so 0 is opaque), colours are premultiplied, the mode combines them, and the result is divided back by its alpha (0 where the alpha is below 10⁻⁵) and clamped. Everything is brought to the destination's size (bicubic, centre-cropped); the result has as many images as the shortest of the four inputs.")]
public sealed class ImagePorterDuffNode : INode
{
    /// <summary>The source images.</summary>
    [Input(Description = "The source images.")]
    public Image? Source { get; set; }

    /// <summary>The source's alpha mask.</summary>
    [Input(Description = "The source's mask, 1 − alpha (0 opaque, 1 transparent), as LoadImage's MASK.")]
    public Mask? SourceAlpha { get; set; }

    /// <summary>The destination images.</summary>
    [Input(Description = "The destination images; the result has their size.")]
    public Image? Destination { get; set; }

    /// <summary>The destination's alpha mask.</summary>
    [Input(Description = "The destination's mask, 1 − alpha (0 opaque, 1 transparent).")]
    public Mask? DestinationAlpha { get; set; }

    /// <summary>The mode.</summary>
    [Parameter(Description = "The Porter-Duff mode (SRC_OVER puts the source over the destination).",
        Choices = ["ADD", "CLEAR", "DARKEN", "DST", "DST_ATOP", "DST_IN", "DST_OUT", "DST_OVER", "LIGHTEN", "MULTIPLY", "OVERLAY", "SCREEN", "SRC", "SRC_ATOP", "SRC_IN", "SRC_OUT", "SRC_OVER", "XOR"])]
    public string Mode { get; set; } = "DST";

    /// <summary>The composited images.</summary>
    [Output(Description = "The composited colours (not premultiplied), at the destination's size.")]
    public Image? Image { get; set; }

    /// <summary>The composite's alpha mask.</summary>
    [Output(Description = "The composite's mask, 1 − alpha.")]
    public Mask? Alpha { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (!PorterDuff.Modes.Contains(Mode)) throw new ArgumentException($"mode must be one of {string.Join(", ", PorterDuff.Modes)}; got '{Mode}'");
        Image source = Source!, destination = Destination!;
        Mask sourceMask = SourceAlpha!, destinationMask = DestinationAlpha!;
        var batch = Math.Min(Math.Min(source.Batch, sourceMask.Batch), Math.Min(destination.Batch, destinationMask.Batch));
        int height = destination.Height, width = destination.Width, plane = height * width;
        var pixels = new float[batch * 3 * plane];
        var alphas = new float[batch * plane];
        for (var b = 0; b < batch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var destinationItem = MaskItem(destinationMask, b, height, width);
            var sourceItem = source.Height == height && source.Width == width
                ? source.PixelsOf(b)
                : PlanarResize.Resize(source.PixelsOf(b), 3, source.Height, source.Width, height, width, "bicubic", centerCrop: true);
            var sourceMaskItem = MaskItem(sourceMask, b, height, width);
            PorterDuff.Composite(sourceItem, sourceMaskItem, destination.PixelsOf(b), destinationItem, Mode,
                pixels.AsSpan(b * 3 * plane, 3 * plane), alphas.AsSpan(b * plane, plane));
        }

        Image = new Image(batch, height, width, pixels);
        Alpha = new Mask(batch, height, width, alphas);
        return Task.CompletedTask;
    }

    // Mask item b at height × width: as it is when the sizes agree, else bicubic and centre-cropped as ComfyUI's common_upscale.
    private static ReadOnlySpan<float> MaskItem(Mask mask, int b, int height, int width)
    {
        var item = mask.Values.Slice(b * mask.Height * mask.Width, mask.Height * mask.Width);
        return mask.Height == height && mask.Width == width ? item : PlanarResize.Resize(item, 1, mask.Height, mask.Width, height, width, "bicubic", centerCrop: true);
    }
}
