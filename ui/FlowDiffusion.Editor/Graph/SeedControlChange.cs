using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

/// <summary>A seed widget's mode switched to <paramref name="Control"/>.</summary>
/// <param name="Seed">The workflow input name, or <c>node.parameter</c>.</param>
/// <param name="Control">The new mode.</param>
public sealed record SeedControlChange(string Seed, SeedControl Control);
