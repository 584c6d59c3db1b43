namespace FlowDiffusion.Engine.Execution;

/// <summary>What happened to one node in a run.</summary>
/// <param name="NodeId">The node id.</param>
/// <param name="NodeType">The node type id.</param>
/// <param name="Duration">Time spent executing (zero when cached).</param>
/// <param name="Cached">Whether the outputs came from the cache.</param>
public sealed record NodeTiming(string NodeId, string NodeType, TimeSpan Duration, bool Cached);
