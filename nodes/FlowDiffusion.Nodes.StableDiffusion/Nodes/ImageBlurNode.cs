using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Gaussian blur, as ComfyUI's ImageBlur.</summary>
[Node("image.blur", "1.0.0", Category = "image/postprocessing", Title = "Blur Image",
    Description = "A (2 · blur_radius + 1)² gaussian blur, as ComfyUI's ImageBlur: the kernel's taps lie on −1 … 1 whatever the radius (tap i at (i − r) / r, weight exp(−d² / 2σ²), normalised), so sigma is a fraction of the radius, and the image is padded by reflection (the edge pixel not repeated), so the radius must be smaller than the image's width and height.")]
public sealed class ImageBlurNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to blur.")]
    public Image? Image { get; set; }

    /// <summary>The radius.</summary>
    [Parameter(Description = "Pixels on each side of the kernel's centre; less than the image's width and height.", Min = 1, Max = 31)]
    public int BlurRadius { get; set; } = 1;

    /// <summary>The gaussian's width.</summary>
    [Parameter(Description = "The gaussian's sigma, in units of the radius (the kernel spans −1 … 1).", Min = 0.1, Max = 10, Step = 0.1)]
    public double Sigma { get; set; } = 1;

    /// <summary>The blurred images.</summary>
    [Output(Description = "The blurred images.")]
    public Image? Blurred { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        if (BlurRadius is < 1 or > 31) throw new ArgumentException($"blur_radius must be 1 … 31; got {BlurRadius}");
        if (!(Sigma is >= 0.1 and <= 10)) throw new ArgumentException($"sigma must be 0.1 … 10; got {Sigma}");
        var pixels = GaussianBlur.Blur(image.Pixels, image.Batch * 3, image.Height, image.Width, BlurRadius, Sigma, "blur_radius", cancellationToken);
        Blurred = new Image(image.Batch, image.Height, image.Width, pixels);
        return Task.CompletedTask;
    }
}
