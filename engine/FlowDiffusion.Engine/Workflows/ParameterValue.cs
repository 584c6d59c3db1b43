namespace FlowDiffusion.Engine.Workflows;

/// <summary>The value of a node parameter in a workflow: a literal, or a workflow input bound by <c>$name</c>.</summary>
public abstract record ParameterValue;

/// <summary>A literal: string, long, double, bool, or a list of those.</summary>
/// <param name="Value">The value as read from YAML.</param>
public sealed record LiteralValue(object? Value) : ParameterValue;

/// <summary>A reference to a workflow input, written <c>$name</c>.</summary>
/// <param name="InputName">The workflow input's name.</param>
public sealed record InputReference(string InputName) : ParameterValue;
