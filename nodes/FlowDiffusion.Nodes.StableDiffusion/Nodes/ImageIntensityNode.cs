using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>comfyui_controlnet_aux's image intensity preprocessor, for recolor ControlNets.</summary>
[Node("image.intensity", "1.0.0", Category = "image/preprocessors", Title = "Image Intensity (Recolor)",
    Description = "comfyui_controlnet_aux's ImageIntensityDetector, exactly: the 8-bit image scaled so its short side is the resolution, each pixel's largest channel (HSV's value) / 255 raised to the gamma, × 255 truncated, grey in all three channels.")]
public sealed class ImageIntensityNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to take the intensity of.")]
    public Image? Image { get; set; }

    /// <summary>The gamma.</summary>
    [Parameter(Description = "The power the 0..1 intensity is raised to (aux's gamma_correction): above 1 darkens the mid-tones.", Min = 0.1, Max = 2, Step = 0.01)]
    public double GammaCorrection { get; set; } = 1;

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution); the map has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The map.</summary>
    [Output(Description = "The intensity, grey in all three channels, the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        AnnotatorResolution.Check(context, image, Resolution);
        Result = ControlImages.PerItemBytes(image, item => ImageIntensity.Apply(item, GammaCorrection, Resolution), cancellationToken);
        return Task.CompletedTask;
    }
}
