using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The scheduler node's name choices: the catalog's names, the one list of them.</summary>
public sealed class SchedulerNames : IParameterChoices
{
    /// <inheritdoc />
    public IReadOnlyList<string> Choices => SchedulerCatalog.Names;
}
