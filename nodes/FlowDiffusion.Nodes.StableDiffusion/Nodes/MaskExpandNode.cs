using FlowDiffusion.Imaging.Masks;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Grows or shrinks a mask by whole pixels, as ComfyUI's GrowMask does.</summary>
[Node("mask.expand", "1.0.0", Category = "image", Title = "Expand Mask",
    Description = "Grows (positive) or shrinks (negative) a mask by whole pixels, as ComfyUI's GrowMask: each pixel step takes every pixel's maximum (growing) or minimum (shrinking) over its 3 × 3 neighbourhood inside the mask, without the corners when tapered corners are on, so grown corners come out rounded. Soft values stay soft. mask.grow is the other growth, VAEEncodeForInpaint's box.")]
public sealed class MaskExpandNode : INode
{
    /// <summary>The mask.</summary>
    [Input(Description = "The mask to grow or shrink.")]
    public Mask? Mask { get; set; }

    /// <summary>The pixel steps.</summary>
    [Parameter(Description = "Pixels to grow (positive) or shrink (negative) by; 0 passes the mask through.", Min = -16384, Max = 16384)]
    public int Expand { get; set; }

    /// <summary>Whether the corners are left out of a step's neighbourhood.</summary>
    [Parameter(Description = "Leave the corners out of each step's neighbourhood (a cross): grown shapes get rounded, diamond-like corners. Off: the full 3 × 3 square, square corners.")]
    public bool TaperedCorners { get; set; } = true;

    /// <summary>The grown or shrunk mask.</summary>
    [Output(Description = "The mask grown or shrunk, of the input's size.")]
    public Mask? Expanded { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var mask = Mask!;
        Expanded = Expand == 0 ? mask
            : new Mask(mask.Batch, mask.Height, mask.Width, MaskMorphology.Expand(mask.Values, mask.Height, mask.Width, Expand, TaperedCorners, cancellationToken));
        return Task.CompletedTask;
    }
}
