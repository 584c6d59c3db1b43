using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Cuts a rectangle out of each mask, as ComfyUI's CropMask.</summary>
[Node("mask.crop", "1.0.0", Category = "image", Title = "Crop Mask",
    Description = "The width × height rectangle whose top-left corner is (x, y), cut to what lies inside the mask, as ComfyUI's CropMask. A corner outside the mask is an error (ComfyUI would give an empty mask).")]
public sealed class MaskCropNode : INode
{
    /// <summary>The masks.</summary>
    [Input(Description = "The masks to crop.")]
    public Mask? Mask { get; set; }

    /// <summary>Left edge.</summary>
    [Parameter(Description = "The rectangle's left edge.", Min = 0, Max = 16384)]
    public int X { get; set; }

    /// <summary>Top edge.</summary>
    [Parameter(Description = "The rectangle's top edge.", Min = 0, Max = 16384)]
    public int Y { get; set; }

    /// <summary>Width.</summary>
    [Parameter(Description = "Width of the rectangle.", Min = 1, Max = 16384)]
    public int Width { get; set; } = 512;

    /// <summary>Height.</summary>
    [Parameter(Description = "Height of the rectangle.", Min = 1, Max = 16384)]
    public int Height { get; set; } = 512;

    /// <summary>The cropped masks.</summary>
    [Output(Description = "The cropped masks.")]
    public Mask? Cropped { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var mask = Mask!;
        if (Width < 1 || Height < 1 || X < 0 || Y < 0) throw new ArgumentException($"crop {Width}×{Height} at ({X}, {Y}): width and height must be at least 1, x and y at least 0");
        if (X >= mask.Width || Y >= mask.Height)
            throw new ArgumentException($"crop at ({X}, {Y}) starts outside the {mask.Width}×{mask.Height} mask: x must be below {mask.Width} and y below {mask.Height}");
        int width = Math.Min(Width, mask.Width - X), height = Math.Min(Height, mask.Height - Y);
        var values = new float[mask.Batch * width * height];
        for (var b = 0; b < mask.Batch; b++)
        for (var y = 0; y < height; y++)
            mask.Values.Slice((b * mask.Height + Y + y) * mask.Width + X, width).CopyTo(values.AsSpan((b * height + y) * width, width));
        Cropped = new Mask(mask.Batch, height, width, values);
        return Task.CompletedTask;
    }
}
