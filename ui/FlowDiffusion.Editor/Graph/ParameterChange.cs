using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

/// <summary>A widget's committed value: parameter <see cref="Name"/> of node <see cref="NodeId"/> becomes <see cref="Value"/> (null: back to the default).</summary>
public sealed record ParameterChange(string NodeId, string Name, ParameterValue? Value);
