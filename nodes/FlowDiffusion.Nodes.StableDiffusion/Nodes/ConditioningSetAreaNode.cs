using FlowDiffusion.Nodes.StableDiffusion.Regions;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>ComfyUI's ConditioningSetArea: the conditioning acts on a rectangle of the image only.</summary>
[Node("conditioning.set_area", "1.0.0", Category = "conditioning", Title = "Conditioning Area",
    Description = "Restricts a conditioning to a rectangle in pixels (floored to multiples of 8), as ComfyUI's ConditioningSetArea: guidance.cfg runs the model on the rectangle only and blends the predictions of all conditionings by their weights (strength, ramped over 8 latent pixels at edges inside the image). Combine it with a conditioning for the whole image.")]
public sealed class ConditioningSetAreaNode : INode
{
    /// <summary>The conditioning.</summary>
    [Input(Description = "The conditioning to restrict (each part of a combined one).")]
    public Conditioning? Conditioning { get; set; }

    /// <summary>The width.</summary>
    [Parameter(Description = "Width of the rectangle in pixels.", Min = 64, Max = 16384, Step = 8)]
    public int Width { get; set; } = 64;

    /// <summary>The height.</summary>
    [Parameter(Description = "Height of the rectangle in pixels.", Min = 64, Max = 16384, Step = 8)]
    public int Height { get; set; } = 64;

    /// <summary>The left edge.</summary>
    [Parameter(Description = "Left edge of the rectangle in pixels.", Min = 0, Max = 16384, Step = 8)]
    public int X { get; set; }

    /// <summary>The top edge.</summary>
    [Parameter(Description = "Top edge of the rectangle in pixels.", Min = 0, Max = 16384, Step = 8)]
    public int Y { get; set; }

    /// <summary>The strength.</summary>
    [Parameter(Description = "The weight of this conditioning's prediction against the others where they overlap.", Min = 0, Max = 10, Step = 0.01)]
    public float Strength { get; set; } = 1f;

    /// <summary>The result.</summary>
    [Output(Description = "The conditioning restricted to the rectangle.")]
    public Conditioning? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Result = RegionEdit.Apply(Conditioning!, r => r with { Area = new RegionArea(X, Y, Width, Height, Fractions: false), Strength = Strength });
        return Task.CompletedTask;
    }
}
