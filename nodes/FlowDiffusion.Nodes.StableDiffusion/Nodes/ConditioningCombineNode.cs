using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>ComfyUI's ConditioningCombine: the guider averages the model's predictions over the conditionings.</summary>
[Node("conditioning.combine", "1.0.0", Category = "conditioning", Title = "Combine Conditionings",
    Description = "Joins two conditionings the way ComfyUI's ConditioningCombine does: guidance.cfg predicts with each (in its one batched model call) and averages the predictions, not the embeddings. Combining a combination adds its parts, so three prompts weigh equally.")]
public sealed class ConditioningCombineNode : INode
{
    /// <summary>The first conditioning.</summary>
    [Input(Description = "The first conditioning.")]
    public Conditioning? A { get; set; }

    /// <summary>The second conditioning.</summary>
    [Input(Description = "The second conditioning.")]
    public Conditioning? B { get; set; }

    /// <summary>The result.</summary>
    [Output(Description = "Both conditionings, for a guider to average over.")]
    public Conditioning? Conditioning { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var parts = CombinedConditionings.Of(A!).Concat(CombinedConditionings.Of(B!)).ToList();
        if (parts.Any(p => p.Dim != parts[0].Dim))
            throw new ArgumentException($"cannot combine conditionings of widths {parts[0].Dim} and {parts.First(p => p.Dim != parts[0].Dim).Dim}; were they encoded by different models?");
        Conditioning = CombinedConditionings.Join(parts);
        return Task.CompletedTask;
    }
}
