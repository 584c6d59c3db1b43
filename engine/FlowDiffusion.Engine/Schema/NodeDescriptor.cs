using FlowDiffusion.Sdk;

namespace FlowDiffusion.Engine.Schema;

/// <summary>Everything the engine knows about a node type, read from its declaration.</summary>
public sealed record NodeDescriptor(
    string Id,
    string Version,
    string Title,
    string Category,
    string Description,
    bool Deterministic,
    bool IsOutput,
    string Plugin,
    Type NodeType,
    IReadOnlyList<PortDescriptor> Inputs,
    IReadOnlyList<PortDescriptor> Outputs,
    IReadOnlyList<ParameterDescriptor> Parameters)
{
    /// <summary>The input port called <paramref name="name"/>, or null.</summary>
    public PortDescriptor? Input(string name) => Inputs.FirstOrDefault(p => p.Name == name);

    /// <summary>The output port called <paramref name="name"/>, or null.</summary>
    public PortDescriptor? Output(string name) => Outputs.FirstOrDefault(p => p.Name == name);

    /// <summary>The parameter called <paramref name="name"/>, or null.</summary>
    public ParameterDescriptor? Parameter(string name) => Parameters.FirstOrDefault(p => p.Name == name);

    /// <summary>A new instance of the node class.</summary>
    public INode CreateInstance() => (INode)Activator.CreateInstance(NodeType)!;
}
