using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>A mask as a grey image, as ComfyUI's MaskToImage.</summary>
[Node("image.from_mask", "1.0.0", Category = "image", Title = "Mask to Image",
    Description = "Each mask as a grey image: its value in the red, green and blue channels.")]
public sealed class ImageFromMaskNode : INode
{
    /// <summary>The mask.</summary>
    [Input(Description = "The mask.")]
    public Mask? Mask { get; set; }

    /// <summary>The image.</summary>
    [Output(Description = "One grey image per mask, at the mask's size.")]
    public Image? Image { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var mask = Mask!;
        var plane = mask.Width * mask.Height;
        var pixels = new float[mask.Batch * 3 * plane];
        for (var b = 0; b < mask.Batch; b++)
        for (var c = 0; c < 3; c++)
            mask.Values.Slice(b * plane, plane).CopyTo(pixels.AsSpan((b * 3 + c) * plane, plane));
        Image = new Image(mask.Batch, mask.Height, mask.Width, pixels);
        return Task.CompletedTask;
    }
}
