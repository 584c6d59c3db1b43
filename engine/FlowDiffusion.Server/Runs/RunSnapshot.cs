using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Server.Runs;

/// <summary>A run as it stands, for a subscriber that joins after it began: what the events so far add up to.</summary>
/// <param name="Status">Queued, running, or how it ended.</param>
/// <param name="Attempt">The current attempt's number (0 before the first).</param>
/// <param name="Nodes">Each node's state so far, by node id.</param>
/// <param name="Previews">The latest preview of each node that sent one.</param>
/// <param name="Outputs">Files written so far.</param>
public sealed record RunSnapshot(
    RunState Status,
    int Attempt,
    IReadOnlyDictionary<string, NodeSnapshot> Nodes,
    IReadOnlyDictionary<string, NodePreviewed> Previews,
    IReadOnlyList<OutputWritten> Outputs);
