using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// One text of an edited prompt (A1111's <c>[from:to:when]</c>, <c>[a|b]</c>): clip.encode encodes each text of a
/// <see cref="PromptSchedule"/> and joins them as a combined conditioning whose parts carry this; the guider evaluates the
/// part whose text applies at the step (<see cref="ActingParts"/>).
/// </summary>
/// <param name="Schedule">The prompt's schedule.</param>
/// <param name="Index">Which of its texts this part is.</param>
internal sealed record PromptVariant(PromptSchedule Schedule, int Index)
{
    /// <summary>The extra's key. A variant is chosen by the guider; batching one as a plain extra is an error.</summary>
    public static readonly ExtraKey<PromptVariant> Key = new("conditioning.prompt_variant", _ =>
        throw new ArgumentException("an edited prompt ([from:to:when], [a|b]) must be resolved by its guider (guidance.cfg); this guider batches all its texts as one conditioning"));
}
