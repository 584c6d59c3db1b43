using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Fades a mask towards its edges, as ComfyUI's FeatherMask.</summary>
[Node("mask.feather", "1.0.0", Category = "image", Title = "Feather Mask",
    Description = "Fades the mask linearly over the given number of pixels at each edge, as ComfyUI's FeatherMask: on the left, column i (from 0) is multiplied by (i + 1) / left, and the top likewise by rows. The right and bottom follow ComfyUI's loop exactly, which counts from index −0: step 0 multiplies the first column (row) by 1 / right (1 / bottom), and step i ≥ 1 the column i from the right edge (the last is i = 1) by (i + 1) / right. Each width is capped at the mask's size.")]
public sealed class MaskFeatherNode : INode
{
    /// <summary>The masks.</summary>
    [Input(Description = "The masks to feather.")]
    public Mask? Mask { get; set; }

    /// <summary>Left fade.</summary>
    [Parameter(Description = "Pixels faded at the left edge.", Min = 0, Max = 16384)]
    public int Left { get; set; }

    /// <summary>Top fade.</summary>
    [Parameter(Description = "Pixels faded at the top edge.", Min = 0, Max = 16384)]
    public int Top { get; set; }

    /// <summary>Right fade.</summary>
    [Parameter(Description = "Pixels faded at the right edge.", Min = 0, Max = 16384)]
    public int Right { get; set; }

    /// <summary>Bottom fade.</summary>
    [Parameter(Description = "Pixels faded at the bottom edge.", Min = 0, Max = 16384)]
    public int Bottom { get; set; }

    /// <summary>The feathered masks.</summary>
    [Output(Description = "The feathered masks.")]
    public Mask? Feathered { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var mask = Mask!;
        if (Left < 0 || Top < 0 || Right < 0 || Bottom < 0) throw new ArgumentException($"left, top, right and bottom cannot be negative; got {Left}, {Top}, {Right}, {Bottom}");
        int width = mask.Width, height = mask.Height;
        int left = Math.Min(Left, width), right = Math.Min(Right, width), top = Math.Min(Top, height), bottom = Math.Min(Bottom, height);
        var values = mask.ToArray();
        for (var b = 0; b < mask.Batch; b++)
        {
            var plane = values.AsSpan(b * width * height, width * height);
            for (var i = 0; i < left; i++) Column(plane, width, height, i, Rate(i, left));
            for (var i = 0; i < right; i++) Column(plane, width, height, i == 0 ? 0 : width - i, Rate(i, right));
            for (var i = 0; i < top; i++) Row(plane, width, i, Rate(i, top));
            for (var i = 0; i < bottom; i++) Row(plane, width, i == 0 ? 0 : height - i, Rate(i, bottom));
        }

        Feathered = new Mask(mask.Batch, height, width, values);
        return Task.CompletedTask;
    }

    // torch multiplies a float32 tensor by a Python float in float32.
    private static float Rate(int step, int count) => (float)((step + 1.0) / count);

    private static void Column(Span<float> plane, int width, int height, int x, float rate)
    {
        for (var y = 0; y < height; y++) plane[y * width + x] *= rate;
    }

    private static void Row(Span<float> plane, int width, int y, float rate)
    {
        foreach (ref var value in plane.Slice(y * width, width)) value *= rate;
    }
}
