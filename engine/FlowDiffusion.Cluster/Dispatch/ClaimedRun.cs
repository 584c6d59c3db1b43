namespace FlowDiffusion.Cluster.Dispatch;

/// <summary>A run handed to a worker slot: its lease and what to execute.</summary>
/// <param name="Ticket">The lease (run, attempt, owner).</param>
/// <param name="Yaml">The workflow text.</param>
/// <param name="InputsJson">The inputs as a JSON object.</param>
/// <param name="Workflow">The saved workflow's name, if any.</param>
/// <param name="Model">The model it loads (the slot's loaded model afterwards), or null.</param>
[GenerateSerializer, Immutable]
public sealed record ClaimedRun(
    [property: Id(0)] LeaseTicket Ticket,
    [property: Id(1)] string Yaml,
    [property: Id(2)] string InputsJson,
    [property: Id(3)] string? Workflow,
    [property: Id(4)] string? Model);
