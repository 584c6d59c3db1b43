using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Makes a mask hard, as ComfyUI's ThresholdMask.</summary>
[Node("mask.threshold", "1.0.0", Category = "image", Title = "Threshold Mask",
    Description = "1 where the mask is above the value, 0 elsewhere (a value equal to it gives 0), as ComfyUI's ThresholdMask: soft or anti-aliased edges become hard.")]
public sealed class MaskThresholdNode : INode
{
    /// <summary>The mask.</summary>
    [Input(Description = "The mask to threshold.")]
    public Mask? Mask { get; set; }

    /// <summary>The threshold.</summary>
    [Parameter(Description = "Values above it become 1, the rest 0.", Min = 0, Max = 1, Step = 0.01)]
    public double Value { get; set; } = 0.5;

    /// <summary>The hard mask.</summary>
    [Output(Description = "The mask, 0 or 1 per pixel.")]
    public Mask? Thresholded { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var mask = Mask!;
        var values = mask.Values;
        var result = new float[values.Length];
        for (var i = 0; i < result.Length; i++) result[i] = values[i] > Value ? 1f : 0f;
        Thresholded = new Mask(mask.Batch, mask.Height, mask.Width, result);
        return Task.CompletedTask;
    }
}
