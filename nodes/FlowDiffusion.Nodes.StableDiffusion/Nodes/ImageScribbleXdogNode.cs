using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>comfyui_controlnet_aux's XDoG scribble preprocessor (a difference of gaussians).</summary>
[Node("image.scribble_xdog", "1.0.0", Category = "image/preprocessors", Title = "Scribble (XDoG)",
    Description = "comfyui_controlnet_aux's Scribble_XDoG_Preprocessor: the 8-bit image scaled so its short side is the resolution; white where twice the darkest channel's difference of OpenCV gaussians (σ 5 − σ 0.5), as a byte, exceeds the threshold. The doubling wraps at 256 as in the original's uint8 arithmetic, so the cores of very dark strokes stay black.")]
public sealed class ImageScribbleXdogNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to turn into scribbles.")]
    public Image? Image { get; set; }

    /// <summary>The threshold.</summary>
    [Parameter(Description = "The difference (×2, in 8-bit levels) above which a pixel is a stroke; lower draws more.", Min = 1, Max = 64, Step = 1)]
    public int Threshold { get; set; } = 32;

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution); the map has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The map.</summary>
    [Output(Description = "White strokes on black (0 or 1 in all three channels), the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        AnnotatorResolution.Check(context, image, Resolution);
        Result = ControlImages.PerItemBytes(image, item => XdogScribble.Apply(item, Threshold, Resolution, cancellationToken), cancellationToken);
        return Task.CompletedTask;
    }
}
