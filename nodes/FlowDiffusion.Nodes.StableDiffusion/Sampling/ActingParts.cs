using FlowDiffusion.Nodes.StableDiffusion.Control;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// Which parts of a conditioning act at a step: a part limited to part of the schedule
/// (<see cref="ConditioningTimestepRange"/>, ComfyUI's ConditioningSetTimestepRange) acts inside its range, a text of an
/// edited prompt (<see cref="PromptVariant"/>, A1111's prompt editing) at the steps its schedule gives it, any other part
/// always. The guider leaves the others out and averages the parts that act.
/// </summary>
internal static class ActingParts
{
    /// <summary>Whether any of <paramref name="conditionings"/> acts at some steps only.</summary>
    public static bool Any(IEnumerable<Conditioning> conditionings) =>
        conditionings.Any(c => c.Extras.Contains(ConditioningTimestepRange.Key) || c.Extras.Contains(PromptVariant.Key) || c.Extras.Contains(PromptWeight.Key));

    /// <summary>Whether <paramref name="conditioning"/> acts at the step of <paramref name="input"/>.</summary>
    public static bool ActsAt(Conditioning conditioning, GuidanceInput input) =>
        (!conditioning.Extras.TryGet(ConditioningTimestepRange.Key, out var range) || ScheduleWindow.Contains(range.Start, range.End, input.Timestep))
        && (!conditioning.Extras.TryGet(PromptVariant.Key, out var variant) || variant.Schedule.VariantAt(input.Step, input.TotalSteps) == variant.Index);

    /// <summary><paramref name="conditioning"/> without what limits it to some steps (and its <see cref="PromptWeight"/>, which the guider reads first).</summary>
    public static Conditioning Strip(Conditioning conditioning) =>
        Any([conditioning]) ? conditioning.WithExtras(conditioning.Extras.Without(ConditioningTimestepRange.Key).Without(PromptVariant.Key).Without(PromptWeight.Key)) : conditioning;

    /// <summary>The conditionings of <paramref name="list"/> that act at the step, stripped.</summary>
    /// <exception cref="ArgumentException">None does: the ranges leave this step uncovered.</exception>
    public static IReadOnlyList<Conditioning> Acting(IReadOnlyList<Conditioning> list, string name, GuidanceInput input)
    {
        var acting = list.Where(c => ActsAt(c, input)).Select(Strip).ToList();
        return acting.Count > 0 ? acting : throw Uncovered(name, input);
    }

    /// <summary>The error for a step at which no conditioning of the <paramref name="name"/> list acts.</summary>
    public static ArgumentException Uncovered(string name, GuidanceInput input) => new(
        $"no part of the {name} conditioning acts at step {input.Step + 1} of {input.TotalSteps} (timestep {input.Timestep:0.###}): its timestep ranges (conditioning.set_timestep_range) leave this part of the schedule uncovered; combine (conditioning.combine) parts whose ranges cover 0 to 1");
}
