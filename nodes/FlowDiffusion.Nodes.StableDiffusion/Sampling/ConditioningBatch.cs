using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>Builds the [2·batch, tokens, dim] context of a CFG call: the first conditioning repeated, then the second.</summary>
internal static class ConditioningBatch
{
    public static Conditioning Stack(Conditioning first, Conditioning second, int batch)
    {
        if (first.Dim != second.Dim)
            throw new ArgumentException($"the positive and negative conditionings have different widths ({second.Dim} and {first.Dim}); were they encoded by different models?");
        var tokens = Math.Max(first.Tokens, second.Tokens);
        var dim = first.Dim;
        var result = new float[2 * batch * tokens * dim];
        for (var b = 0; b < batch; b++)
        {
            Write(first, b, result.AsSpan(b * tokens * dim, tokens * dim), dim);
            Write(second, b, result.AsSpan((batch + b) * tokens * dim, tokens * dim), dim);
        }
        return new Conditioning(2 * batch, tokens, dim, result);
    }

    // A shorter prompt repeats its last 77-token window up to the longer one's length.
    private static void Write(Conditioning source, int index, Span<float> target, int dim)
    {
        var item = source.EmbeddingsOf(source.Batch == 1 ? 0 : index);
        item.CopyTo(target);
        var window = Math.Min(77, source.Tokens) * dim;
        for (var offset = item.Length; offset < target.Length; offset += window)
            item[^window..].CopyTo(target[offset..]);
    }
}
