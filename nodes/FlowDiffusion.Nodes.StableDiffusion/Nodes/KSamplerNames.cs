using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The k-sampler node's sampler choices: the k-diffusion samplers implemented, the one list of them.</summary>
public sealed class KSamplerNames : IParameterChoices
{
    /// <inheritdoc />
    public IReadOnlyList<string> Choices => KSamplers.Names;
}
