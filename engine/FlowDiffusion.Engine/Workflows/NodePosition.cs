namespace FlowDiffusion.Engine.Workflows;

/// <summary>Where the editor draws a node.</summary>
public readonly record struct NodePosition(double X, double Y);
