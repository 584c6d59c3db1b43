using FlowDiffusion.Imaging.Preprocessors;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Inverts images, for lineart ControlNets.</summary>
[Node("image.invert", "1.0.0", Category = "image/preprocessors", Title = "Invert Image",
    Description = "1 − value in every channel: black-on-white lineart becomes the white-on-black lines lineart ControlNets take.")]
public sealed class ImageInvertNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to invert.")]
    public Image? Image { get; set; }

    /// <summary>The inverted images.</summary>
    [Output(Description = "The inverted images.")]
    public Image? Inverted { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        Inverted = new Image(image.Batch, image.Height, image.Width, LineImages.Invert(image.Pixels));
        return Task.CompletedTask;
    }
}
