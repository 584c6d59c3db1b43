using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>comfyui_controlnet_aux's binary lines preprocessor.</summary>
[Node("image.binary", "1.0.0", Category = "image/preprocessors", Title = "Binary Lines",
    Description = "comfyui_controlnet_aux's BinaryPreprocessor, exactly: the 8-bit image scaled so its short side is the resolution (INTER_CUBIC up, INTER_AREA down), OpenCV's grey level, white where it is above the threshold; threshold 0 or 255 uses Otsu's level of the image (padded to multiples of 64 by repeating its edge, as aux pads it).")]
public sealed class ImageBinaryNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to threshold.")]
    public Image? Image { get; set; }

    /// <summary>The grey level.</summary>
    [Parameter(Description = "Grey levels above it (0..255) are white; 0 or 255 picks Otsu's level (aux's bin_threshold).", Min = 0, Max = 255, Step = 1)]
    public int Threshold { get; set; } = 100;

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to before thresholding (aux's resolution); the map has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The map.</summary>
    [Output(Description = "0 or 1 in all three channels, the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        AnnotatorResolution.Check(context, image, Resolution);
        Result = ControlImages.PerItemBytes(image, item => BinaryLines.Apply(item, Threshold, Resolution).Map, cancellationToken);
        return Task.CompletedTask;
    }
}
