using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Combines one mask into another at an offset, as ComfyUI's MaskComposite.</summary>
[Node("mask.composite", "1.0.0", Category = "image", Title = "Composite Masks",
    Description = "Combines source into destination where source lies when its top-left corner is at (x, y), as ComfyUI's MaskComposite: multiply, add or subtract the values, or and, or, xor of the values rounded to 0 or 1 (0.5 rounds to 0); the result is clamped to 0 … 1 and has the destination's size, with the destination kept outside the source. What falls past the destination's edges is cut off (an offset past them changes nothing). A source of one mask serves every destination mask; otherwise the batches must match.")]
public sealed class MaskCompositeNode : INode
{
    /// <summary>The mask combined into.</summary>
    [Input(Description = "The mask combined into; the result has its size and batch.")]
    public Mask? Destination { get; set; }

    /// <summary>The mask combined.</summary>
    [Input(Description = "The mask combined, its top-left corner at (x, y).")]
    public Mask? Source { get; set; }

    /// <summary>Left edge.</summary>
    [Parameter(Description = "Where the source's left edge goes, in destination pixels.", Min = 0, Max = 16384)]
    public int X { get; set; }

    /// <summary>Top edge.</summary>
    [Parameter(Description = "Where the source's top edge goes, in destination pixels.", Min = 0, Max = 16384)]
    public int Y { get; set; }

    /// <summary>The operation.</summary>
    [Parameter(Description = "multiply, add, subtract (destination − source), or the logical and, or, xor of the rounded values.", Choices = ["multiply", "add", "subtract", "and", "or", "xor"])]
    public string Operation { get; set; } = "multiply";

    /// <summary>The result.</summary>
    [Output(Description = "The combined mask.")]
    public Mask? Combined { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Mask destination = Destination!, source = Source!;
        if (X < 0 || Y < 0) throw new ArgumentException($"x and y cannot be negative; got {X}, {Y}");
        if (source.Batch != 1 && source.Batch != destination.Batch)
            throw new ArgumentException($"source has batch {source.Batch} but destination {destination.Batch}; they must match, or source be one mask");
        Func<float, float, float> combine = Operation switch
        {
            "multiply" => static (d, s) => d * s,
            "add" => static (d, s) => d + s,
            "subtract" => static (d, s) => d - s,
            "and" => static (d, s) => Set(d) & Set(s) ? 1 : 0,
            "or" => static (d, s) => Set(d) | Set(s) ? 1 : 0,
            "xor" => static (d, s) => Set(d) ^ Set(s) ? 1 : 0,
            _ => throw new ArgumentException($"operation must be multiply, add, subtract, and, or or xor; got '{Operation}'"),
        };

        var values = destination.ToArray();
        int width = Math.Min(source.Width, destination.Width - X), height = Math.Min(source.Height, destination.Height - Y);
        for (var b = 0; b < destination.Batch; b++)
        {
            var from = source.Batch == 1 ? 0 : b;
            for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var at = (b * destination.Height + Y + y) * destination.Width + X + x;
                values[at] = combine(values[at], source.Values[(from * source.Height + y) * source.Width + x]);
            }
        }

        for (var i = 0; i < values.Length; i++) values[i] = Math.Clamp(values[i], 0f, 1f);
        Combined = new Mask(destination.Batch, destination.Height, destination.Width, values);
        return Task.CompletedTask;
    }

    // torch's round (half to even) then bool: 0.5 is off, anything above on.
    private static bool Set(float value) => MathF.Round(value, MidpointRounding.ToEven) != 0;
}
