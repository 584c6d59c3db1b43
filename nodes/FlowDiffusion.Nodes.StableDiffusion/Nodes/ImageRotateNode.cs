using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Turns images by quarter turns, as ComfyUI's ImageRotate.</summary>
[Node("image.rotate", "1.0.0", Category = "image", Title = "Rotate Image",
    Description = "Turns each image clockwise by 90, 180 or 270 degrees, as ComfyUI's ImageRotate (torch.rot90 from the width axis to the height axis); 90 and 270 swap width and height.")]
public sealed class ImageRotateNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to turn.")]
    public Image? Image { get; set; }

    /// <summary>How far.</summary>
    [Parameter(Description = "The clockwise turn.", Choices = ["none", "90 degrees", "180 degrees", "270 degrees"])]
    public string Rotation { get; set; } = "none";

    /// <summary>The turned images.</summary>
    [Output(Description = "The turned images.")]
    public Image? Rotated { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var (pixels, height, width) = PlanarTransform.Rotate(image.Pixels, image.Batch * 3, image.Height, image.Width, PlanarTransform.QuarterTurns(Rotation));
        Rotated = new Image(image.Batch, height, width, pixels);
        return Task.CompletedTask;
    }
}
