using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>controlnet.union_type's choices: "auto", then the union control types in index order (<see cref="UnionControlTypes"/>).</summary>
public sealed class ControlNetUnionTypeNames : IParameterChoices
{
    /// <inheritdoc />
    public IReadOnlyList<string> Choices => UnionControlTypes.Choices;
}
