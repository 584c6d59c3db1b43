namespace FlowDiffusion.Sdk.Values;

/// <summary>
/// A prompt whose text changes while sampling (AUTOMATIC1111's prompt editing <c>[from:to:when]</c> and alternation
/// <c>[a|b]</c>): every text it takes, tokenized, and which one applies at each model evaluation. A text encoder encodes
/// each; a guider picks the one of the step.
/// </summary>
public sealed class PromptSchedule
{
    private readonly Func<int, int, int> _variantAt;

    /// <summary>Creates a schedule.</summary>
    /// <param name="variants">Every text the prompt takes, tokenized; at least two.</param>
    /// <param name="variantAt">The index in <paramref name="variants"/> at a 0-based model evaluation of a loop of the given length.</param>
    public PromptSchedule(IReadOnlyList<Tokens> variants, Func<int, int, int> variantAt)
    {
        ArgumentNullException.ThrowIfNull(variants);
        ArgumentNullException.ThrowIfNull(variantAt);
        if (variants.Count < 2) throw new ArgumentException("A prompt schedule has at least two texts.", nameof(variants));
        Variants = [.. variants];
        _variantAt = variantAt;
    }

    /// <summary>Every text the prompt takes, tokenized.</summary>
    public IReadOnlyList<Tokens> Variants { get; }

    /// <summary>The index in <see cref="Variants"/> of the text at model evaluation <paramref name="step"/> (0-based) of <paramref name="steps"/>.</summary>
    /// <param name="step">The 0-based model evaluation.</param>
    /// <param name="steps">The evaluations of the loop.</param>
    public int VariantAt(int step, int steps)
    {
        var index = _variantAt(step, Math.Max(1, steps));
        return index >= 0 && index < Variants.Count ? index : throw new InvalidOperationException($"The prompt schedule chose text {index} of {Variants.Count}.");
    }
}
