namespace FlowDiffusion.Server.Runs;

/// <summary>One run as the store keeps it.</summary>
/// <param name="Id">The run id (32 hex digits).</param>
/// <param name="Status">Where it stands.</param>
/// <param name="Priority">Higher runs first; equal priorities run in submission order.</param>
/// <param name="Submitted">When it was accepted.</param>
/// <param name="Started">When it last began executing.</param>
/// <param name="Finished">When it reached a final state.</param>
/// <param name="Workflow">The saved workflow's name, when submitted by name.</param>
/// <param name="Yaml">The workflow text as submitted (a saved workflow is copied, so later edits do not change the run); empty in list pages.</param>
/// <param name="InputsJson">The input values as a JSON object; null in a list page when longer than the page allows.</param>
/// <param name="NodesJson">Per-node timings as a JSON array, once finished.</param>
/// <param name="OutputsJson">Output files relative to the run's folder as a JSON array, once finished.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="IdempotencyKey">The client's key; a second submission with it returns this run.</param>
/// <param name="Attempts">How many times it began executing: the current attempt's number while running.</param>
/// <param name="LeaseOwner">Who holds the current attempt's lease, while running.</param>
/// <param name="LeaseExpires">When that lease lapses unless renewed.</param>
/// <param name="CancelRequested">A client asked to cancel the run while it was running.</param>
/// <param name="InputsLength">The length of the stored input JSON in characters.</param>
/// <param name="Targets">The nodes the run executes for (partial execution); null: the workflow's outputs.</param>
public sealed record RunRecord(
    string Id,
    RunState Status,
    int Priority,
    DateTimeOffset Submitted,
    DateTimeOffset? Started,
    DateTimeOffset? Finished,
    string? Workflow,
    string Yaml,
    string? InputsJson,
    string? NodesJson,
    string? OutputsJson,
    string? Error,
    string? IdempotencyKey,
    int Attempts,
    string? LeaseOwner = null,
    DateTimeOffset? LeaseExpires = null,
    bool CancelRequested = false,
    int InputsLength = 0,
    IReadOnlyList<string>? Targets = null)
{
    /// <summary>The current attempt's lease, while the run is running under one.</summary>
    public RunLease? Lease => Status == RunState.Running && LeaseOwner is { } owner && LeaseExpires is { } expires
        ? new RunLease(Id, Attempts, owner, expires)
        : null;
}
