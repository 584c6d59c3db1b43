using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The k-sampler node's sigma schedule choices: ComfyUI's schedules implemented, the one list of them.</summary>
public sealed class SigmaScheduleNames : IParameterChoices
{
    /// <inheritdoc />
    public IReadOnlyList<string> Choices { get; } = [.. SigmaSchedules.Names, .. SigmaSchedules.ExtensionNames, SigmaSchedules.SdTurbo];
}
