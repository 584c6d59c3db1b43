using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Execution;

/// <summary>A node ready to execute: its type, parameter values converted to CLR types, and resolved edges.</summary>
public sealed record PlannedNode(
    int Index,
    string Id,
    NodeDescriptor Descriptor,
    IReadOnlyList<KeyValuePair<ParameterDescriptor, object?>> Parameters,
    IReadOnlyList<PlannedEdge> Inputs,
    string ParameterFingerprint);
