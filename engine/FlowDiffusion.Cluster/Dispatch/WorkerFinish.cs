namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>How an attempt ended on its worker.</summary>
/// <param name="Status">completed, failed or cancelled.</param>
/// <param name="NodesJson">Per-node timings as a JSON array.</param>
/// <param name="Files">The output files already sent with <see cref="IDispatchGrain.WriteOutputAsync"/>, relative to the attempt.</param>
/// <param name="Error">Why it failed.</param>
[GenerateSerializer, Immutable]
public sealed record WorkerFinish(
    [property: Id(0)] string Status,
    [property: Id(1)] string NodesJson,
    [property: Id(2)] string[] Files,
    [property: Id(3)] string? Error);
