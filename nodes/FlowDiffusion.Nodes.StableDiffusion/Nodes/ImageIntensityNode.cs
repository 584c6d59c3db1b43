using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>comfyui_controlnet_aux's image intensity and luminance preprocessors, for recolor ControlNets.</summary>
[Node("image.intensity", "1.1.0", Category = "image/preprocessors", Title = "Image Intensity (Recolor)",
    Description = "comfyui_controlnet_aux's ImageIntensityDetector and ImageLuminanceDetector, exactly: the 8-bit image scaled so its short side is the resolution, each pixel's level (intensity: the largest channel, HSV's value; luminance: OpenCV's 8-bit LAB lightness with red and blue swapped, as both originals call it) / 255 raised to the gamma, × 255 truncated, grey in all three channels.")]
public sealed class ImageIntensityNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to take the intensity of.")]
    public Image? Image { get; set; }

    /// <summary>Which level.</summary>
    [Parameter(Description = "intensity (aux's ImageIntensityDetector, the extension's recolor_intensity) or luminance (ImageLuminanceDetector, recolor_luminance).",
        Choices = ["intensity", "luminance"])]
    public string Mode { get; set; } = "intensity";

    /// <summary>The gamma.</summary>
    [Parameter(Description = "The power the 0..1 level is raised to (aux's gamma_correction): above 1 darkens the mid-tones.", Min = 0.1, Max = 2, Step = 0.01)]
    public double GammaCorrection { get; set; } = 1;

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution); the map has that size. 0 keeps the image's size (sd-webui-controlnet's recolor modules do not scale).",
        Min = 0, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The map.</summary>
    [Output(Description = "The level, grey in all three channels, the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        if (Resolution is > 0 and < 64) throw new ArgumentException($"resolution: {Resolution} is below 64 (0 keeps the image's size)");
        if (Resolution > 0) AnnotatorResolution.Check(context, image, Resolution);
        Func<Rgb8Image, double, int, Rgb8Image> map = Mode == "luminance" ? ImageLuminance.Apply : ImageIntensity.Apply;
        Result = ControlImages.PerItemBytes(image, item => map(item, GammaCorrection, Resolution), cancellationToken);
        return Task.CompletedTask;
    }
}
