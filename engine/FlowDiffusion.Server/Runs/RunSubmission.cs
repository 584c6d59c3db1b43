namespace FlowDiffusion.Server.Runs;

/// <summary>A run to enqueue.</summary>
/// <param name="Yaml">The workflow text.</param>
/// <param name="InputsJson">The input values as a JSON object.</param>
/// <param name="Workflow">The saved workflow's name, when submitted by name.</param>
/// <param name="Priority">Higher runs first.</param>
/// <param name="IdempotencyKey">The client's key, if it sent one.</param>
/// <param name="Targets">The nodes whose outputs are wanted (partial execution); null or empty: the workflow's outputs.</param>
public sealed record RunSubmission(string Yaml, string InputsJson, string? Workflow = null, int Priority = 0, string? IdempotencyKey = null,
    IReadOnlyList<string>? Targets = null);
