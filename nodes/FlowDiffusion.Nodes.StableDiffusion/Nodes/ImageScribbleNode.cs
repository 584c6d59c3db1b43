using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>comfyui_controlnet_aux's plain scribble preprocessor (ScribblePreprocessor), for scribble ControlNets.</summary>
[Node("image.scribble", "1.0.0", Category = "image/preprocessors", Title = "Scribble Lines",
    Description = "comfyui_controlnet_aux's ScribblePreprocessor, exactly: the 8-bit image scaled so its short side is the resolution (OpenCV's INTER_AREA, enlarging too), black where its darkest channel is below 127, white elsewhere. Not HED's fake scribble (FakeScribblePreprocessor, the extension's scribble_hed).")]
public sealed class ImageScribbleNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to threshold.")]
    public Image? Image { get; set; }

    /// <summary>The short side.</summary>
    [Parameter(Description = "The short side the image is scaled to (aux's resolution); the map has that size.", Min = 64, Max = 16384, Step = 64)]
    public int Resolution { get; set; } = 512;

    /// <summary>The map.</summary>
    [Output(Description = "0 where the darkest channel is below 127, 1 elsewhere, in all three channels; the short side at the resolution.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        AnnotatorResolution.Check(context, image, Resolution);
        Result = ControlImages.PerItemBytes(image, item => ThresholdScribble.Apply(item, Resolution), cancellationToken);
        return Task.CompletedTask;
    }
}
