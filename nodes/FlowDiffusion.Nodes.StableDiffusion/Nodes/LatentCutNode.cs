using FlowDiffusion.Nodes.StableDiffusion.Imaging;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Keeps a slice of latents along one dimension, as ComfyUI's LatentCut.</summary>
[Node("latent.cut", "1.0.0", Category = "latent", Title = "Cut Latents",
    Description = "amount latent positions from index along a dimension, as ComfyUI's LatentCut: x columns, y rows, t the axis before height (an image latent's channels). A negative index counts from the end; an index past the end moves back to the last position, one before the start to the first, and amount is cut to what lies inside, so at least one position remains. Seeds and noise indices are kept.")]
public sealed class LatentCutNode : INode
{
    /// <summary>The latents.</summary>
    [Input(Description = "The latents to cut.")]
    public Latent? Samples { get; set; }

    /// <summary>The dimension.</summary>
    [Parameter(Description = "x: columns; y: rows; t: the channels of an image latent.", Choices = ["x", "y", "t"])]
    public string Dim { get; set; } = "x";

    /// <summary>The first position kept.</summary>
    [Parameter(Description = "The first position kept, in latent positions (image pixels / 8); negative counts from the end.", Min = -16384, Max = 16384)]
    public int Index { get; set; }

    /// <summary>How many positions to keep.</summary>
    [Parameter(Description = "How many positions to keep, at most those from index to the end.", Min = 1, Max = 16384)]
    public int Amount { get; set; } = 1;

    /// <summary>The slice.</summary>
    [Output(Description = "The kept slice.")]
    public Latent? Cut { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var latent = Samples!;
        if (Amount < 1) throw new ArgumentException($"amount {Amount} must be at least 1");
        var axis = LatentAxis.Of(latent, Dim);
        // ComfyUI: index ≥ 0 moves back to at most the last position; a negative one to at most one before the first.
        int start, length;
        if (Index >= 0)
        {
            start = Math.Min(Index, axis.Length - 1);
            length = Math.Min(axis.Length - start, Amount);
        }
        else
        {
            var back = Math.Max(Index, -axis.Length);
            (start, length) = (axis.Length + back, Math.Min(-back, Amount));
        }

        var values = new float[axis.Outer * length * axis.Inner];
        for (var o = 0; o < axis.Outer; o++)
            latent.Values.Slice((o * axis.Length + start) * axis.Inner, length * axis.Inner).CopyTo(values.AsSpan(o * length * axis.Inner));
        var shape = axis.Shape(latent, length);
        Cut = new Latent(shape[0], shape[1], shape[2], shape[3], values, latent.Seeds) { NoiseIndices = latent.NoiseIndices };
        return Task.CompletedTask;
    }
}
