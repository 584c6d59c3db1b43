using FlowDiffusion.Imaging.Masks;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The pixels of one exact colour as a mask, as ComfyUI's ImageColorToMask.</summary>
[Node("mask.from_color", "1.0.0", Category = "image", Title = "Image Color to Mask",
    Description = "1 where a pixel has exactly the given colour, 0 elsewhere, as ComfyUI's ImageColorToMask: each channel clamped to 0 … 1, times 255, rounded half to even to an integer, and the pixel's 0xRRGGBB compared with the colour.")]
public sealed class MaskFromColorNode : INode
{
    /// <summary>The images.</summary>
    [Input(Description = "The images to find the colour in.")]
    public Image? Image { get; set; }

    /// <summary>The colour.</summary>
    [Parameter(Description = "The colour as the integer 0xRRGGBB: red · 65536 + green · 256 + blue, each 0 … 255 (0 black, 16777215 white).", Min = 0, Max = ColorMask.MaxColor)]
    public int Color { get; set; }

    /// <summary>The mask.</summary>
    [Output(Description = "One mask per image: 1 where the pixel has the colour, else 0.")]
    public Mask? Mask { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = Image!;
        Mask = new Mask(image.Batch, image.Height, image.Width, ColorMask.Find(image.Pixels, image.Height * image.Width, Color));
        return Task.CompletedTask;
    }
}
