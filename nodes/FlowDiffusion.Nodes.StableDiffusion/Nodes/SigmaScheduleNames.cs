using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The k-sampler node's sigma schedule choices: ComfyUI's KSampler schedules, the names extensions add, and SDTurboScheduler's sd_turbo.</summary>
public sealed class SigmaScheduleNames : IParameterChoices
{
    /// <inheritdoc />
    public IReadOnlyList<string> Choices { get; } = [.. SigmaSchedules.Names, .. SigmaSchedules.ExtensionNames, SigmaSchedules.SdTurbo];
}
