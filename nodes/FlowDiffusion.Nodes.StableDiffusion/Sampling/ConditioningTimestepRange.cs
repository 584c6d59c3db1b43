using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// The part of the schedule a conditioning acts in, ComfyUI's <c>start_percent</c> and <c>end_percent</c> keys
/// (ConditioningSetTimestepRange): at a step outside it the guider leaves the conditioning out, and averages the parts of a
/// combined conditioning that remain (ComfyUI's prompt switching; <see cref="ActingParts"/>).
/// </summary>
/// <param name="Start">The fraction of the schedule from which the conditioning acts.</param>
/// <param name="End">The fraction after which it stops.</param>
internal sealed record ConditioningTimestepRange(float Start, float End)
{
    /// <summary>The extra's key. A range is applied by the guider; batching one as a plain extra is an error.</summary>
    public static readonly ExtraKey<ConditioningTimestepRange> Key = new("conditioning.timestep_range", _ =>
        throw new ArgumentException("a conditioning limited to part of the schedule (conditioning.set_timestep_range) must be applied by its guider (guidance.cfg); this guider batches it as one conditioning"));
}
