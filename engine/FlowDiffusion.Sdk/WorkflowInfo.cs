namespace FlowDiffusion.Sdk;

/// <summary>The workflow a node runs in, as saved files embed it (a PNG's text chunk restores the graph).</summary>
/// <param name="Name">The workflow's name.</param>
/// <param name="Yaml">The workflow as YAML, exactly what the CLI would run.</param>
/// <param name="Inputs">The resolved workflow inputs of this run (seed included).</param>
public sealed record WorkflowInfo(string Name, string Yaml, IReadOnlyDictionary<string, object?> Inputs);
