using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>ComfyUI's ConditioningSetTimestepRange: the conditioning acts in part of the schedule only.</summary>
[Node("conditioning.set_timestep_range", "1.0.0", Category = "conditioning", Title = "Conditioning Timestep Range",
    Description = "Limits a conditioning (each part of a combined one) to a part of the schedule, as ComfyUI's ConditioningSetTimestepRange: from start to end as fractions of the schedule (0 is the first, noisiest step). Combine two prompts with ranges 0–0.4 and 0.4–1 to switch prompts part-way (A1111's [from:to:0.4]); guidance.cfg leaves a conditioning out where its range does not cover the step and averages the parts that act.")]
public sealed class ConditioningSetTimestepRangeNode : INode
{
    /// <summary>The conditioning.</summary>
    [Input(Description = "The conditioning to limit (each part of a combined one).")]
    public Conditioning? Conditioning { get; set; }

    /// <summary>The start.</summary>
    [Parameter(Description = "The fraction of the schedule from which the conditioning acts (0 = from the first step).", Min = 0, Max = 1, Step = 0.001)]
    public float Start { get; set; }

    /// <summary>The end.</summary>
    [Parameter(Description = "The fraction of the schedule after which it stops (1 = to the last step).", Min = 0, Max = 1, Step = 0.001)]
    public float End { get; set; } = 1f;

    /// <summary>The result.</summary>
    [Output(Description = "The conditioning with its timestep range.")]
    public Conditioning? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (Start > End) throw new ArgumentException($"start ({Start}) is after end ({End})");
        var range = new ConditioningTimestepRange(Start, End);
        Result = CombinedConditionings.Each(Conditioning!, part => part.With(ConditioningTimestepRange.Key, range));
        return Task.CompletedTask;
    }
}
