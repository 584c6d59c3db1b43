using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.TestConditioning;

/// <summary>
/// The conditioning kind this pack adds: embedding tokens [batch, n, dim] to append to the text context, as an image
/// prompt adapter appends image tokens. A conditioning without them contributes zero tokens to a batched call, so a
/// negative need not carry them.
/// </summary>
public static class ExtraTokens
{
    /// <summary>The key: <c>test.extra_tokens</c>.</summary>
    public static readonly ExtraKey<ExtraTensor> Key = new("test.extra_tokens", Combine);

    private static ExtraTensor Combine(IReadOnlyList<ExtraPart<ExtraTensor>> parts)
    {
        var shape = parts.First(p => p.Value is not null).Value!.Shape;
        var zeros = new ExtraTensor([1, .. shape.Skip(1)], new float[shape.Skip(1).Aggregate(1, (a, b) => a * b)]);
        return ExtraTensor.Concat(parts.Select(p => p with { Value = p.Value ?? zeros }).ToList());
    }
}
