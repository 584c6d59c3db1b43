using FlowDiffusion.Nodes.StableDiffusion.Regions;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>ComfyUI's ConditioningSetAreaPercentage: a rectangle in fractions of the image.</summary>
[Node("conditioning.set_area_fraction", "1.0.0", Category = "conditioning", Title = "Conditioning Area (fraction)",
    Description = "Restricts a conditioning to a rectangle given in fractions of the image (rounded at the latent's size when sampling), as ComfyUI's ConditioningSetAreaPercentage; otherwise as conditioning.set_area.")]
public sealed class ConditioningSetAreaFractionNode : INode
{
    /// <summary>The conditioning.</summary>
    [Input(Description = "The conditioning to restrict (each part of a combined one).")]
    public Conditioning? Conditioning { get; set; }

    /// <summary>The width.</summary>
    [Parameter(Description = "Width of the rectangle as a fraction of the image's.", Min = 0, Max = 1, Step = 0.01)]
    public double Width { get; set; } = 1;

    /// <summary>The height.</summary>
    [Parameter(Description = "Height of the rectangle as a fraction of the image's.", Min = 0, Max = 1, Step = 0.01)]
    public double Height { get; set; } = 1;

    /// <summary>The left edge.</summary>
    [Parameter(Description = "Left edge as a fraction of the image's width.", Min = 0, Max = 1, Step = 0.01)]
    public double X { get; set; }

    /// <summary>The top edge.</summary>
    [Parameter(Description = "Top edge as a fraction of the image's height.", Min = 0, Max = 1, Step = 0.01)]
    public double Y { get; set; }

    /// <summary>The strength.</summary>
    [Parameter(Description = "The weight of this conditioning's prediction against the others where they overlap.", Min = 0, Max = 10, Step = 0.01)]
    public float Strength { get; set; } = 1f;

    /// <summary>The result.</summary>
    [Output(Description = "The conditioning restricted to the rectangle.")]
    public Conditioning? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Result = RegionEdit.Apply(Conditioning!, r => r with { Area = new RegionArea(X, Y, Width, Height, Fractions: true), Strength = Strength });
        return Task.CompletedTask;
    }
}
