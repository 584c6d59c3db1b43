namespace FlowDiffusion.Engine.Execution;

/// <summary>The outcome of a run.</summary>
public sealed record RunResult(
    string RunId,
    RunStatus Status,
    TimeSpan Duration,
    IReadOnlyList<NodeTiming> Nodes,
    IReadOnlyList<string> OutputFiles,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>> Outputs,
    string? Error = null,
    string? FailedNode = null)
{
    /// <summary>Metrics nodes reported, summed by name over the run (e.g. <c>onnx_run_seconds</c>).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>The value of output <paramref name="output"/> of node <paramref name="nodeId"/>.</summary>
    public object? Output(string nodeId, string output) =>
        Outputs.TryGetValue(nodeId, out var values) ? values.GetValueOrDefault(output) : null;

    /// <summary>How many nodes executed (not served from cache).</summary>
    public int Executed => Nodes.Count(n => !n.Cached);

    /// <summary>How many nodes were served from cache.</summary>
    public int Cached => Nodes.Count(n => n.Cached);
}
