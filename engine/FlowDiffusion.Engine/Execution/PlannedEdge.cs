using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Execution;

/// <summary>A resolved edge: input <see cref="Port"/> reads output <see cref="Output"/> of the planned node at <see cref="SourceIndex"/>.</summary>
public sealed record PlannedEdge(PortDescriptor Port, int SourceIndex, PortDescriptor Output);
