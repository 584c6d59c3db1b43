using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Unsharp masking, as ComfyUI's ImageSharpen.</summary>
[Node("image.sharpen", "1.0.0", Category = "image/postprocessing", Title = "Sharpen Image",
    Description = "image + 10 · alpha · (image − blur(image)), clamped to 0 … 1, as ComfyUI's ImageSharpen (its kernel is −10 · alpha · the gaussian, 1 + 10 · alpha · the gaussian's sum added at the centre); the blur is image.blur's with sharpen_radius and sigma, padded by reflection, so the radius must be smaller than the image's width and height.")]
public sealed class ImageSharpenNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to sharpen.")]
    public Image? Image { get; set; }

    /// <summary>The radius.</summary>
    [Parameter(Description = "Pixels on each side of the kernel's centre; less than the image's width and height.", Min = 1, Max = 31)]
    public int SharpenRadius { get; set; } = 1;

    /// <summary>The gaussian's width.</summary>
    [Parameter(Description = "The gaussian's sigma, in units of the radius (the kernel spans −1 … 1).", Min = 0.1, Max = 10, Step = 0.01)]
    public double Sigma { get; set; } = 1;

    /// <summary>The strength.</summary>
    [Parameter(Description = "How strongly: the difference from the blur is added 10 · alpha times (0 leaves the image unchanged).", Min = 0, Max = 5, Step = 0.01)]
    public double Alpha { get; set; } = 1;

    /// <summary>The sharpened images.</summary>
    [Output(Description = "The sharpened images.")]
    public Image? Sharpened { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        if (SharpenRadius is < 1 or > 31) throw new ArgumentException($"sharpen_radius must be 1 … 31; got {SharpenRadius}");
        if (!(Sigma is >= 0.1 and <= 10)) throw new ArgumentException($"sigma must be 0.1 … 10; got {Sigma}");
        if (!(Alpha is >= 0 and <= 5)) throw new ArgumentException($"alpha must be 0 … 5; got {Alpha}");
        var blurred = GaussianBlur.Blur(image.Pixels, image.Batch * 3, image.Height, image.Width, SharpenRadius, Sigma, "sharpen_radius", cancellationToken);
        // torch scales the float32 kernel by the Python float −(alpha · 10), made float32.
        var strength = (float)(Alpha * 10);
        var source = image.Pixels;
        for (var i = 0; i < blurred.Length; i++) blurred[i] = Math.Clamp(source[i] + strength * (source[i] - blurred[i]), 0f, 1f);
        Sharpened = new Image(image.Batch, image.Height, image.Width, blurred);
        return Task.CompletedTask;
    }
}
