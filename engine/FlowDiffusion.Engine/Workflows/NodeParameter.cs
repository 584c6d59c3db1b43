namespace FlowDiffusion.Engine.Workflows;

/// <summary>One entry of a node's <c>with:</c> section.</summary>
public sealed record NodeParameter(string Name, ParameterValue Value, SourceLocation? Location = null);
