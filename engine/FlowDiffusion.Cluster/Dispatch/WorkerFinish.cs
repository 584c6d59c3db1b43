namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>How an attempt ended on its worker.</summary>
/// <param name="Status">completed, failed or cancelled.</param>
/// <param name="NodesJson">Per-node timings as a JSON array.</param>
/// <param name="Files">The output files, relative to the attempt: already sent with <see cref="IDispatchGrain.WriteOutputAsync"/>, or
/// placed in the shared output store's inbox of the attempt when <paramref name="InSharedStore"/>.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="InSharedStore">The files wait in the shared output store (<see cref="SharedOutputFolder"/>), not in chunks sent to the coordinator.</param>
[GenerateSerializer, Immutable]
public sealed record WorkerFinish(
    [property: Id(0)] string Status,
    [property: Id(1)] string NodesJson,
    [property: Id(2)] string[] Files,
    [property: Id(3)] string? Error,
    [property: Id(4)] bool InSharedStore = false);
