using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Places a second image beside the first, as ComfyUI's ImageStitch.</summary>
[Node("image.stitch", "1.0.0", Category = "image/transform", Title = "Image Stitch",
    Description = "Joins image2 to image1's right, bottom, left or top, as ComfyUI's ImageStitch: with match_image_size image2 is scaled (Lanczos) to image1's height (left/right) or width (up/down), its other side truncated to whole pixels; without it the shorter image is centred on a strip of the spacing colour (black for red, green and blue). A spacing strip (widened to an even width) of the colour goes between them. The shorter batch is filled up with its last image. Without image2, image1 passes through.")]
public sealed class ImageStitchNode : INode
{
    /// <summary>The widest spacing, ComfyUI's bound.</summary>
    public const int MaxSpacing = 1024;

    /// <summary>The first image.</summary>
    [Input(Description = "The first images.")]
    public Image? Image1 { get; set; }

    /// <summary>The second image.</summary>
    [Input(Description = "The images to join to them; none: image1 unchanged.", Optional = true)]
    public Image? Image2 { get; set; }

    /// <summary>Where image2 goes.</summary>
    [Parameter(Description = "Where image2 goes: right, down, left or up of image1.", Choices = ["right", "down", "left", "up"])]
    public string Direction { get; set; } = "right";

    /// <summary>Whether image2 is scaled to image1's side.</summary>
    [Parameter(Description = "Scale image2 (Lanczos, aspect kept) to image1's height (right/left) or width (down/up); off: pad the shorter one instead.")]
    public bool MatchImageSize { get; set; } = true;

    /// <summary>The spacing between the images.</summary>
    [Parameter(Description = "Pixels of spacing between the images (0 … 1024; an odd width gets one more).", Min = 0, Max = MaxSpacing)]
    public int SpacingWidth { get; set; }

    /// <summary>The spacing colour.</summary>
    [Parameter(Description = "The spacing's colour; white and black also fill the padding.", Choices = ["white", "black", "red", "green", "blue"])]
    public string SpacingColor { get; set; } = "white";

    /// <summary>The stitched images.</summary>
    [Output(Description = "The stitched images.")]
    public Image? Stitched { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (Direction is not ("right" or "down" or "left" or "up")) throw new ArgumentException($"direction must be right, down, left or up; got '{Direction}'");
        if (SpacingWidth is < 0 or > MaxSpacing) throw new ArgumentException($"spacing_width must be 0 … {MaxSpacing}; got {SpacingWidth}");
        float[] colour = SpacingColor switch
        {
            "white" => [1f, 1f, 1f],
            "black" => [0f, 0f, 0f],
            "red" => [1f, 0f, 0f],
            "green" => [0f, 1f, 0f],
            "blue" => [0f, 0f, 1f],
            _ => throw new ArgumentException($"spacing_color must be white, black, red, green or blue; got '{SpacingColor}'"),
        };
        var first = Image1!;
        if (Image2 is not { } second)
        {
            Stitched = first;
            return Task.CompletedTask;
        }

        var horizontal = Direction is "right" or "left";
        int h1 = first.Height, w1 = first.Width, h2 = second.Height, w2 = second.Width;
        if (MatchImageSize)
        {
            // Python's int(h1 * (w2 / h2)) and int(w1 / (w2 / h2)).
            var aspect = (double)w2 / h2;
            (int th, int tw) = horizontal ? (h1, (int)(h1 * aspect)) : ((int)(w1 / aspect), w1);
            if (th < 1 || tw < 1)
                throw new ArgumentException($"image2 ({w2}×{h2}) scaled to image1's {(horizontal ? "height" : "width")} would be {tw}×{th}; it needs at least one pixel each way");
            ProducedImageSize.Check(context, "image2 matched to image1", tw, th);
            if (th != h2 || tw != w2)
            {
                var pixels = PlanarResize.Resize(second.Pixels, second.Batch * 3, h2, w2, th, tw, "lanczos", centerCrop: false);
                for (var i = 0; i < pixels.Length; i++) pixels[i] = Math.Clamp(pixels[i], 0f, 1f);
                second = new Image(second.Batch, th, tw, pixels);
            }

            (h2, w2) = (th, tw);
        }

        var spacing = SpacingWidth + SpacingWidth % 2;
        // Without matching, the shorter side is padded to the longer, centred (the extra pixel after).
        int across = horizontal ? Math.Max(h1, h2) : Math.Max(w1, w2);
        int along = (horizontal ? w1 + w2 : h1 + h2) + spacing;
        int height = horizontal ? across : along, width = horizontal ? along : across;
        ProducedImageSize.Check(context, "the stitched image", width, height);
        var batch = Math.Max(first.Batch, second.Batch);
        if ((long)batch * 3 * height * width > Array.MaxLength)
            throw new ArgumentException($"{batch} stitched images of {width}×{height} are more than one buffer holds; stitch fewer at a time");
        var padding = SpacingColor switch { "white" => 1f, _ => 0f };
        var result = new float[(long)batch * 3 * height * width];
        result.AsSpan().Fill(padding);
        var (before, after) = Direction is "left" or "up" ? (second, first) : (first, second);
        for (var b = 0; b < batch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var item = result.AsSpan(b * 3 * height * width, 3 * height * width);
            var offset = 0;
            Place(item, height, width, before, b, horizontal, offset);
            offset += horizontal ? before.Width : before.Height;
            for (var c = 0; c < 3; c++)
            for (var y = horizontal ? 0 : offset; y < (horizontal ? height : offset + spacing); y++)
            for (var x = horizontal ? offset : 0; x < (horizontal ? offset + spacing : width); x++)
                item[(c * height + y) * width + x] = colour[c];
            offset += spacing;
            Place(item, height, width, after, b, horizontal, offset);
        }

        Stitched = new Image(batch, height, width, result);
        return Task.CompletedTask;
    }

    // Copies image b (its last one past its batch) at offset along the stitch, centred across it.
    private static void Place(Span<float> item, int height, int width, Image image, int b, bool horizontal, int offset)
    {
        var pixels = image.PixelsOf(Math.Min(b, image.Batch - 1));
        int top = horizontal ? (height - image.Height) / 2 : offset, left = horizontal ? offset : (width - image.Width) / 2;
        for (var c = 0; c < 3; c++)
        for (var y = 0; y < image.Height; y++)
            pixels.Slice((c * image.Height + y) * image.Width, image.Width).CopyTo(item.Slice((c * height + top + y) * width + left, image.Width));
    }
}
