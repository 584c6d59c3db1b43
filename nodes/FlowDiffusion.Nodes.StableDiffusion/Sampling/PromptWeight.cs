using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// A sub-prompt's weight in a composed prompt (A1111's <c>AND</c>, <see cref="PromptPart"/>): guidance.cfg adds
/// weight × scale × (its prediction − the unconditional one) over the positive's parts, as A1111's
/// <c>combine_denoised</c>, instead of averaging them.
/// </summary>
/// <param name="Value">The weight.</param>
internal sealed record PromptWeight(float Value)
{
    /// <summary>The extra's key. A weight is applied by the guider; batching one as a plain extra is an error.</summary>
    public static readonly ExtraKey<PromptWeight> Key = new("conditioning.prompt_weight", _ =>
        throw new ArgumentException("a composed prompt (AND) must be guided by its guider (guidance.cfg); this guider batches its parts as one conditioning"));

    /// <summary>The weight of <paramref name="conditioning"/>: its own, or 1.</summary>
    public static float Of(Conditioning conditioning) => conditioning.Extras.TryGet(Key, out var weight) ? weight.Value : 1f;
}
