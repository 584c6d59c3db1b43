using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>comfyui_controlnet_aux's standard lineart preprocessor (a difference of the image and its blur).</summary>
[Node("image.lineart_standard", "1.0.0", Category = "image/preprocessors", Title = "Standard Lineart",
    Description = "comfyui_controlnet_aux's LineartStandardPreprocessor: the 8-bit image scaled so its short side is the resolution, then per pixel the smallest over R, G, B of (OpenCV gaussian blur − pixel), clamped to 0..255, divided by the median of the values above the intensity threshold (at least 16) and × 127. Dark lines come out white on black.")]
public sealed class ImageLineartStandardNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to find lines in.")]
    public Image? Image { get; set; }

    /// <summary>The blur.</summary>
    [Parameter(Description = "The gaussian's sigma in pixels (aux's guassian_sigma); lines thinner than the blur stand out.", Min = 0.01, Max = 100, Step = 0.01)]
    public double GaussianSigma { get; set; } = 6;

    /// <summary>The floor for the median.</summary>
    [Parameter(Description = "Only intensities above it (0..16) set the median the map is normalised by.", Min = 0, Max = 16, Step = 1)]
    public int IntensityThreshold { get; set; } = 8;

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution); the map has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The map.</summary>
    [Output(Description = "White lines on black, grey in all three channels, the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        AnnotatorResolution.Check(context, image, Resolution);
        Result = ControlImages.PerItemBytes(image, item => StandardLineart.Apply(item, GaussianSigma, IntensityThreshold, Resolution, cancellationToken), cancellationToken);
        return Task.CompletedTask;
    }
}
