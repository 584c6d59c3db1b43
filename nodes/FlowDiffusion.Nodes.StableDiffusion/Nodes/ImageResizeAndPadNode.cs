using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Fits images inside a size, keeping their aspect ratio, and pads the rest, as ComfyUI's ResizeAndPadImage.</summary>
[Node("image.resize_and_pad", "1.0.0", Category = "image/transform", Title = "Resize and Pad Image",
    Description = "Scales images by min(target_width / width, target_height / height), each side truncated to whole pixels as ComfyUI computes it (so 11 pixels scaled to 15 give 14), and centres them on a white or black target_width × target_height canvas (offsets rounded down), as ComfyUI's ResizeAndPadImage.")]
public sealed class ImageResizeAndPadNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to fit.")]
    public Image? Image { get; set; }

    /// <summary>The canvas width.</summary>
    [Parameter(Description = "The canvas width in pixels.", Min = 1, Max = 16384)]
    public int TargetWidth { get; set; } = 512;

    /// <summary>The canvas height.</summary>
    [Parameter(Description = "The canvas height in pixels.", Min = 1, Max = 16384)]
    public int TargetHeight { get; set; } = 512;

    /// <summary>The padding colour.</summary>
    [Parameter(Description = "The colour around the image: white or black.", Choices = ["white", "black"])]
    public string PaddingColor { get; set; } = "white";

    /// <summary>The interpolation.</summary>
    [Parameter(Description = "Interpolation, as image.resize (values clamped to 0 … 1).", Choices = ["area", "bicubic", "nearest-exact", "bilinear", "lanczos"])]
    public string Interpolation { get; set; } = "area";

    /// <summary>The padded images.</summary>
    [Output(Description = "The images on their canvas, target_width × target_height.")]
    public Image? Padded { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (TargetWidth is < 1 or > 16384 || TargetHeight is < 1 or > 16384)
            throw new ArgumentException($"target_width and target_height must be 1 … 16384; got {TargetWidth} × {TargetHeight}");
        if (PaddingColor is not ("white" or "black")) throw new ArgumentException($"padding_color must be white or black; got '{PaddingColor}'");
        if (Interpolation is not ("area" or "bicubic" or "nearest-exact" or "bilinear" or "lanczos"))
            throw new ArgumentException($"interpolation must be area, bicubic, nearest-exact, bilinear or lanczos; got '{Interpolation}'");
        ProducedImageSize.Check(context, "target_width/target_height", TargetWidth, TargetHeight);
        var image = Image!;
        // Python's float arithmetic: the smaller ratio, each side multiplied by it and truncated.
        var scale = Math.Min((double)TargetWidth / image.Width, (double)TargetHeight / image.Height);
        int width = (int)(image.Width * scale), height = (int)(image.Height * scale);
        if (width < 1 || height < 1)
            throw new ArgumentException($"the {image.Width}×{image.Height} image scaled by {scale:G4} to fit {TargetWidth}×{TargetHeight} would be {width}×{height}; pick a canvas nearer the image's aspect ratio");
        var resized = width == image.Width && height == image.Height
            ? image.ToArray()
            : PlanarResize.Resize(image.Pixels, image.Batch * 3, image.Height, image.Width, height, width, Interpolation, centerCrop: false);
        int top = (TargetHeight - height) / 2, left = (TargetWidth - width) / 2;
        var pixels = new float[image.Batch * 3 * TargetHeight * TargetWidth];
        if (PaddingColor == "white") pixels.AsSpan().Fill(1f);
        for (var p = 0; p < image.Batch * 3; p++)
        for (var y = 0; y < height; y++)
        {
            var row = resized.AsSpan((p * height + y) * width, width);
            var target = pixels.AsSpan((p * TargetHeight + top + y) * TargetWidth + left, width);
            for (var x = 0; x < width; x++) target[x] = Math.Clamp(row[x], 0f, 1f);
        }

        Padded = new Image(image.Batch, TargetHeight, TargetWidth, pixels);
        return Task.CompletedTask;
    }
}
