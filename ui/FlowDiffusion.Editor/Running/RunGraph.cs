namespace FlowDiffusion.Editor.Running;

/// <summary>What the history's Open brings back of a past run: its workflow text (or the PNG that carries it), name and input values.</summary>
/// <param name="Yaml">The workflow text as queued, or null when only <paramref name="Png"/> has it.</param>
/// <param name="Workflow">The saved workflow's name, when it was run by name.</param>
/// <param name="InputsJson">The input values as a JSON object, or null.</param>
/// <param name="Png">A PNG output of the run (its text chunks carry the workflow and inputs), when <paramref name="Yaml"/> is null.</param>
public sealed record RunGraph(string? Yaml, string? Workflow, string? InputsJson, byte[]? Png);
