using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>One colour channel of an image as a mask, as ComfyUI's ImageToMask.</summary>
[Node("mask.from_image", "1.0.0", Category = "image", Title = "Image to Mask",
    Description = "The chosen colour channel of every image as a mask (its value, 0 … 1). Images carry no alpha here; a file's alpha is read by mask.load.")]
public sealed class MaskFromImageNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images.")]
    public Image? Image { get; set; }

    /// <summary>The channel.</summary>
    [Parameter(Description = "The colour channel that becomes the mask.", Choices = ["red", "green", "blue"])]
    public string Channel { get; set; } = "red";

    /// <summary>The mask.</summary>
    [Output(Description = "One mask per image, at the image's size.")]
    public Mask? Mask { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        var channel = Channel switch
        {
            "red" => 0,
            "green" => 1,
            "blue" => 2,
            _ => throw new ArgumentException($"channel '{Channel}' is not one of red, green, blue (images carry no alpha; mask.load reads a file's alpha)"),
        };
        var plane = image.Width * image.Height;
        var values = new float[image.Batch * plane];
        for (var b = 0; b < image.Batch; b++) image.Pixels.Slice((b * 3 + channel) * plane, plane).CopyTo(values.AsSpan(b * plane, plane));
        Mask = new Mask(image.Batch, image.Height, image.Width, values);
        return Task.CompletedTask;
    }
}
