using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Zeroes a conditioning's text embeddings and pooled embedding, as ComfyUI's ConditioningZeroOut.</summary>
[Node("conditioning.zero_out", "1.0.0", Category = "conditioning", Title = "Zero Out Conditioning",
    Description = "The same conditioning with its text embeddings and pooled text embedding (SDXL's text_embeds) set to 0; other extras (SDXL's size conditioning, control images …) are kept. A zero negative, as some SDXL and distilled models want.")]
public sealed class ConditioningZeroOutNode : INode
{
    /// <summary>The conditioning.</summary>
    [Input(Description = "The conditioning to zero.")]
    public Conditioning? Conditioning { get; set; }

    /// <summary>The zeroed conditioning.</summary>
    [Output(Description = "Zero embeddings of the same shape, with the same extras but a zero pooled embedding.")]
    public Conditioning? Zeroed { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Zeroed = CombinedConditionings.Each(Conditioning!, Zero);
        return Task.CompletedTask;
    }

    // Zero embeddings and pooled embedding of one conditioning (each part of a combined one, as ComfyUI zeroes every entry).
    private static Conditioning Zero(Conditioning source)
    {
        var extras = source.Extras;
        if (extras.TryGet(StandardExtras.PooledText, out var pooled))
            extras = extras.With(StandardExtras.PooledText, new ExtraTensor(pooled.Shape, new float[pooled.Batch * pooled.ItemLength]));
        return new Conditioning(source.Batch, source.Tokens, source.Dim, new float[source.Embeddings.Length], extras);
    }
}
