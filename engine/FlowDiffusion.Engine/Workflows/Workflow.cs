namespace FlowDiffusion.Engine.Workflows;

/// <summary>
/// A workflow as written in YAML: exposed inputs, nodes with edges and parameters, optional editor layout.
/// The same value is what the editor saves, the CLI runs and the API accepts.
/// </summary>
public sealed record Workflow(
    string Name,
    string Description,
    IReadOnlyList<WorkflowInput> Inputs,
    IReadOnlyList<WorkflowNode> Nodes,
    EditorLayout? Editor = null,
    string? SourceFile = null)
{
    /// <summary>The file format version this engine reads and writes.</summary>
    public const int FormatVersion = 1;

    /// <summary>The node with this id, or null.</summary>
    public WorkflowNode? Node(string id) => Nodes.FirstOrDefault(n => n.Id == id);

    /// <summary>The workflow input with this name, or null.</summary>
    public WorkflowInput? Input(string name) => Inputs.FirstOrDefault(i => i.Name == name);
}
