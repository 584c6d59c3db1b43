using FlowDiffusion.Nodes.StableDiffusion.Control;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// The part of the schedule a conditioning acts in, ComfyUI's <c>start_percent</c> and <c>end_percent</c> keys
/// (ConditioningSetTimestepRange): at a step outside it the guider leaves the conditioning out, and averages the parts of a
/// combined conditioning that remain (ComfyUI's prompt switching).
/// </summary>
/// <param name="Start">The fraction of the schedule from which the conditioning acts.</param>
/// <param name="End">The fraction after which it stops.</param>
internal sealed record ConditioningTimestepRange(float Start, float End)
{
    /// <summary>The extra's key. A range is applied by the guider; batching one as a plain extra is an error.</summary>
    public static readonly ExtraKey<ConditioningTimestepRange> Key = new("conditioning.timestep_range", _ =>
        throw new ArgumentException("a conditioning limited to part of the schedule (conditioning.set_timestep_range) must be applied by its guider (guidance.cfg); this guider batches it as one conditioning"));

    /// <summary>Whether any of <paramref name="conditionings"/> is limited to part of the schedule.</summary>
    public static bool Any(IEnumerable<Conditioning> conditionings) => conditionings.Any(c => c.Extras.Contains(Key));

    /// <summary>
    /// Whether <paramref name="conditioning"/> acts at <paramref name="timestep"/>: always without a range, else as ComfyUI
    /// maps the fractions to the schedule (<see cref="ScheduleWindow.Contains"/>, as ControlNet's start and end).
    /// </summary>
    public static bool ActsAt(Conditioning conditioning, float timestep) =>
        !conditioning.Extras.TryGet(Key, out var range) || ScheduleWindow.Contains(range.Start, range.End, timestep);

    /// <summary><paramref name="conditioning"/> without its range.</summary>
    public static Conditioning Strip(Conditioning conditioning) =>
        conditioning.Extras.Contains(Key) ? conditioning.WithExtras(conditioning.Extras.Without(Key)) : conditioning;

    /// <summary>
    /// The conditionings of <paramref name="list"/> that act at the step, without their ranges.
    /// </summary>
    /// <exception cref="ArgumentException">None does: the ranges leave this step uncovered.</exception>
    public static IReadOnlyList<Conditioning> Acting(IReadOnlyList<Conditioning> list, string name, GuidanceInput input)
    {
        var acting = list.Where(c => ActsAt(c, input.Timestep)).Select(Strip).ToList();
        return acting.Count > 0 ? acting : throw Uncovered(name, input);
    }

    /// <summary>The error for a step at which no conditioning of the <paramref name="name"/> list acts.</summary>
    public static ArgumentException Uncovered(string name, GuidanceInput input) => new(
        $"no part of the {name} conditioning acts at step {input.Step + 1} of {input.TotalSteps} (timestep {input.Timestep:0.###}): its timestep ranges (conditioning.set_timestep_range) leave this part of the schedule uncovered; combine (conditioning.combine) parts whose ranges cover 0 to 1");
}
