namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>
/// One run event or log line on its way from a worker to the coordinator's event bus (a flat message, since the engine's
/// event records are not Orleans types). <see cref="WireEvents"/> converts both ways.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record WireEvent(
    [property: Id(0)] string Kind,
    [property: Id(1)] DateTimeOffset Time,
    [property: Id(2)] string? NodeId = null,
    [property: Id(3)] string? NodeType = null,
    [property: Id(4)] string? Text = null,
    [property: Id(5)] double Number = 0,
    [property: Id(6)] int Step = 0,
    [property: Id(7)] int TotalSteps = 0,
    [property: Id(8)] long DurationTicks = 0,
    [property: Id(9)] string[]? Nodes = null,
    [property: Id(10)] int[]? Shape = null,
    [property: Id(11)] float[]? Pixels = null);
