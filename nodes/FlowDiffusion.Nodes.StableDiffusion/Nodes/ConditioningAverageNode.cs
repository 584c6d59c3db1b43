using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Weighs one conditioning against another, as ComfyUI's ConditioningAverage.</summary>
[Node("conditioning.average", "1.0.0", Category = "conditioning", Title = "Average Conditioning",
    Description = "to · to_strength + from · (1 − to_strength), token by token, at to's length: from is cut to it, or padded with zero tokens. The pooled embedding (SDXL) is weighed the same way when both have one (from's when only from has one); every other extra is to's. A combined to (conditioning.combine) has each of its parts averaged with from's first part, as ComfyUI averages every entry.")]
public sealed class ConditioningAverageNode : INode
{
    /// <summary>The conditioning kept at full strength when to_strength is 1.</summary>
    [Input(Description = "The conditioning whose length and extras the result keeps.")]
    public Conditioning? To { get; set; }

    /// <summary>The conditioning mixed in.</summary>
    [Input(Description = "The conditioning mixed in (its first image's embeddings when it has a batch of one).")]
    public Conditioning? From { get; set; }

    /// <summary>The weight of to.</summary>
    [Parameter(Description = "The weight of to: 1 is to alone, 0 is from alone (at to's length).", Min = 0, Max = 1, Step = 0.01)]
    public double ToStrength { get; set; } = 1;

    /// <summary>The result.</summary>
    [Output(Description = "The weighted conditioning.")]
    public Conditioning? Conditioning { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        // As ComfyUI: every entry of a combined to is averaged with from's first entry.
        var from = CombinedConditionings.Of(From!)[0];
        Conditioning = CombinedConditionings.Each(To!, to => Average(to, from));
        return Task.CompletedTask;
    }

    private Conditioning Average(Conditioning to, Conditioning from)
    {
        if (to.Dim != from.Dim) throw new ArgumentException($"cannot average conditionings of widths {to.Dim} and {from.Dim}; were they encoded by different models?");
        if (from.Batch != 1 && from.Batch != to.Batch) throw new ArgumentException($"from has a batch of {from.Batch}; give it 1 or to's {to.Batch}");
        var weight = (float)ToStrength;
        var result = to.ToArray();
        var tokens = Math.Min(to.Tokens, from.Tokens);
        for (var b = 0; b < to.Batch; b++)
        {
            var source = from.EmbeddingsOf(from.Batch == 1 ? 0 : b);
            var target = result.AsSpan(b * to.Tokens * to.Dim, to.Tokens * to.Dim);
            for (var i = 0; i < target.Length; i++) target[i] = target[i] * weight + (i < tokens * to.Dim ? source[i] : 0) * (1 - weight);
        }

        var extras = to.Extras;
        if (from.Extras.TryGet(StandardExtras.PooledText, out var pooledFrom))
        {
            if (!extras.TryGet(StandardExtras.PooledText, out var pooledTo)) extras = extras.With(StandardExtras.PooledText, pooledFrom);
            else if (pooledTo.ItemLength == pooledFrom.ItemLength && (pooledFrom.Batch == 1 || pooledFrom.Batch == pooledTo.Batch))
            {
                var mixed = pooledTo.ToArray();
                var other = pooledFrom.ToArray();
                for (var i = 0; i < mixed.Length; i++) mixed[i] = mixed[i] * weight + other[pooledFrom.Batch == 1 ? i % pooledFrom.ItemLength : i] * (1 - weight);
                extras = extras.With(StandardExtras.PooledText, new ExtraTensor(pooledTo.Shape, mixed));
            }
            else throw new ArgumentException($"the pooled embeddings differ in shape ({string.Join("×", pooledTo.Shape)} and {string.Join("×", pooledFrom.Shape)})");
        }

        return new Conditioning(to.Batch, to.Tokens, to.Dim, result, extras);
    }
}
