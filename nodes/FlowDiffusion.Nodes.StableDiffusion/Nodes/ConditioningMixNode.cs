using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>How two conditionings combine.</summary>
public enum MixMode
{
    /// <summary>a + weight · (b − a).</summary>
    Lerp,

    /// <summary>a + weight · b.</summary>
    Add,

    /// <summary>a then b along the token axis.</summary>
    Concat,

    /// <summary>(a + b) / 2.</summary>
    Average,
}

/// <summary>Mixes two prompt embeddings.</summary>
[Node("conditioning.mix", "1.0.0", Category = "conditioning", Title = "Mix Conditioning",
    Description = "Combines two conditionings: lerp by a weight (0 = a, 1 = b), add b scaled by the weight, concatenate, or average. Extras (pooled embeddings, control images …) are a's, with b's added where a has none of that kind. A combined a (conditioning.combine) has each of its parts mixed with b's first part, as ComfyUI's ConditioningConcat.")]
public sealed class ConditioningMixNode : INode
{
    /// <summary>The first conditioning.</summary>
    [Input(Description = "The first conditioning.")]
    public Conditioning? A { get; set; }

    /// <summary>The second conditioning.</summary>
    [Input(Description = "The second conditioning.")]
    public Conditioning? B { get; set; }

    /// <summary>The mode.</summary>
    [Parameter(Description = "How to combine them.")]
    public MixMode Mode { get; set; } = MixMode.Lerp;

    /// <summary>The weight.</summary>
    [Parameter(Description = "The weight of b (lerp, add).", Min = -10, Max = 10, Step = 0.05)]
    public double Weight { get; set; } = 0.5;

    /// <summary>The result.</summary>
    [Output(Description = "The mixed conditioning.")]
    public Conditioning? Conditioning { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        // As ComfyUI's ConditioningConcat: every part of a combined a is mixed with b's first part.
        var b = CombinedConditionings.Of(B!)[0];
        Conditioning = CombinedConditionings.Each(A!, a => Mix(a, b));
        return Task.CompletedTask;
    }

    private Conditioning Mix(Conditioning a, Conditioning b)
    {
        if (a.Dim != b.Dim || a.Batch != b.Batch)
            throw new ArgumentException($"cannot mix conditionings of shapes [{a.Batch}, {a.Tokens}, {a.Dim}] and [{b.Batch}, {b.Tokens}, {b.Dim}]");
        if (Mode == MixMode.Concat)
        {
            var joined = new float[a.Batch * (a.Tokens + b.Tokens) * a.Dim];
            for (var i = 0; i < a.Batch; i++)
            {
                var target = joined.AsSpan(i * (a.Tokens + b.Tokens) * a.Dim);
                a.EmbeddingsOf(i).CopyTo(target);
                b.EmbeddingsOf(i).CopyTo(target[(a.Tokens * a.Dim)..]);
            }
            return new Conditioning(a.Batch, a.Tokens + b.Tokens, a.Dim, joined, b.Extras.With(a.Extras));
        }
        if (a.Tokens != b.Tokens)
            throw new ArgumentException($"'{Mode.ToString().ToLowerInvariant()}' needs prompts of the same length; a has {a.Tokens} tokens, b {b.Tokens} (use concat, or shorten the longer prompt)");
        var w = (float)Weight;
        var result = a.ToArray();
        var bv = b.Embeddings;
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = Mode switch
            {
                MixMode.Lerp => result[i] + w * (bv[i] - result[i]),
                MixMode.Add => result[i] + w * bv[i],
                _ => 0.5f * (result[i] + bv[i]),
            };
        }
        return new Conditioning(a.Batch, a.Tokens, a.Dim, result, b.Extras.With(a.Extras));
    }
}
