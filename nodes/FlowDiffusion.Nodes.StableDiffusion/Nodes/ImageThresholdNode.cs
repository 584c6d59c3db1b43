using FlowDiffusion.Imaging.Preprocessors;
using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>A luminance threshold, for scribble ControlNets.</summary>
[Node("image.threshold", "1.0.0", Category = "image/preprocessors", Title = "Threshold (Scribble)",
    Description = "1 where the luminance (0.299 R + 0.587 G + 0.114 B) is at least the threshold, else 0; invert turns dark strokes on paper into the white-on-black scribbles scribble ControlNets take.")]
public sealed class ImageThresholdNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to threshold.")]
    public Image? Image { get; set; }

    /// <summary>The threshold.</summary>
    [Parameter(Description = "The luminance threshold, 0..1.", Min = 0, Max = 1, Step = 0.01)]
    public double Threshold { get; set; } = 0.5;

    /// <summary>Whether to swap black and white.</summary>
    [Parameter(Description = "Make pixels darker than the threshold white (strokes drawn on paper).")]
    public bool Invert { get; set; }

    /// <summary>The map.</summary>
    [Output(Description = "The thresholded image, 0 or 1 in all three channels.")]
    public Image? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        Result = ControlImages.PerItem(image, item => LineImages.Threshold(item, image.Height, image.Width, Threshold, Invert));
        return Task.CompletedTask;
    }
}
