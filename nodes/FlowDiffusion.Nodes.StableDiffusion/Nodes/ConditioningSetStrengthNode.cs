using FlowDiffusion.Nodes.StableDiffusion.Regions;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>ComfyUI's ConditioningSetAreaStrength: the weight of a conditioning's prediction, its area (if any) kept.</summary>
[Node("conditioning.set_strength", "1.0.0", Category = "conditioning", Title = "Conditioning Strength",
    Description = "Sets the weight of this conditioning's prediction where it meets others of a combination, as ComfyUI's ConditioningSetAreaStrength: guidance.cfg weighs each part's prediction by its strength and divides by their sum (a conditioning alone is unchanged by it). An area or mask set before is kept.")]
public sealed class ConditioningSetStrengthNode : INode
{
    /// <summary>The conditioning.</summary>
    [Input(Description = "The conditioning (each part of a combined one).")]
    public Conditioning? Conditioning { get; set; }

    /// <summary>The strength.</summary>
    [Parameter(Description = "The weight of this conditioning's prediction against the others where they overlap.", Min = 0, Max = 10, Step = 0.01)]
    public float Strength { get; set; } = 1f;

    /// <summary>The result.</summary>
    [Output(Description = "The conditioning with its strength.")]
    public Conditioning? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Result = RegionEdit.Apply(Conditioning!, r => r with { Strength = Strength });
        return Task.CompletedTask;
    }
}
