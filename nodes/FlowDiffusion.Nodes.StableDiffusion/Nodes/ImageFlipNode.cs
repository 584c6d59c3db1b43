using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Mirrors images, as ComfyUI's ImageFlip.</summary>
[Node("image.flip", "1.0.0", Category = "image", Title = "Flip Image",
    Description = "Mirrors each image, as ComfyUI's ImageFlip: \"x-axis: vertically\" turns it upside down (the top row becomes the bottom), \"y-axis: horizontally\" swaps left and right.")]
public sealed class ImageFlipNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to flip.")]
    public Image? Image { get; set; }

    /// <summary>Which way.</summary>
    [Parameter(Description = "x-axis: vertically (top ↔ bottom) or y-axis: horizontally (left ↔ right).", Choices = ["x-axis: vertically", "y-axis: horizontally"])]
    public string FlipMethod { get; set; } = "x-axis: vertically";

    /// <summary>The flipped images.</summary>
    [Output(Description = "The flipped images.")]
    public Image? Flipped { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var pixels = PlanarTransform.Flip(image.Pixels, image.Batch * 3, image.Height, image.Width, PlanarTransform.Vertically(FlipMethod));
        Flipped = new Image(image.Batch, image.Height, image.Width, pixels);
        return Task.CompletedTask;
    }
}
