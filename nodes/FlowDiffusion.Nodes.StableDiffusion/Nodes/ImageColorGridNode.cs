using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>comfyui_controlnet_aux's colour palette preprocessor, for colour T2I-Adapters.</summary>
[Node("image.color_grid", "1.0.0", Category = "image/preprocessors", Title = "Colour Grid (Palette)",
    Description = "comfyui_controlnet_aux's ColorPreprocessor, exactly: the 8-bit image scaled with OpenCV's INTER_AREA so its short side is the resolution, shrunk with INTER_CUBIC to one pixel per 64×64 cell and enlarged back with INTER_NEAREST: flat 64-pixel colour blocks at the scaled size.")]
public sealed class ImageColorGridNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to reduce to colour blocks.")]
    public Image? Image { get; set; }

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side of the result, in pixels (the image is scaled to it first).", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The colour grid.</summary>
    [Output(Description = "64-pixel colour blocks, the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var (height, width) = ColorGrid.ResultSize(image.Height, image.Width, Resolution);
        ProducedImageSize.Check(context, "resolution", width, height);
        Result = ControlImages.PerItemBytes(image, item => ColorGrid.Apply(item, Resolution), cancellationToken);
        return Task.CompletedTask;
    }
}
