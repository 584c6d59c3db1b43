using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>A mask of one value, as ComfyUI's SolidMask.</summary>
[Node("mask.solid", "1.0.0", Category = "image", Title = "Solid Mask",
    Description = "A width × height mask with the same value everywhere, as ComfyUI's SolidMask: 1 repaints everything, 0 nothing.")]
public sealed class MaskSolidNode : INode
{
    /// <summary>The value.</summary>
    [Parameter(Description = "The value at every pixel.", Min = 0, Max = 1, Step = 0.01)]
    public double Value { get; set; } = 1;

    /// <summary>The width.</summary>
    [Parameter(Description = "Width in pixels.", Min = 1, Max = 16384)]
    public int Width { get; set; } = 512;

    /// <summary>The height.</summary>
    [Parameter(Description = "Height in pixels.", Min = 1, Max = 16384)]
    public int Height { get; set; } = 512;

    /// <summary>The mask.</summary>
    [Output(Description = "The mask.")]
    public Mask? Mask { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (Width < 1 || Height < 1) throw new ArgumentException($"width and height must be at least 1, not {Width} × {Height}");
        ProducedImageSize.Check(context, "mask.solid", Width, Height);
        var values = new float[(long)Width * Height];
        Array.Fill(values, (float)Value);
        Mask = new Mask(1, Height, Width, values);
        return Task.CompletedTask;
    }
}
