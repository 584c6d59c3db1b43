namespace FlowDiffusion.Engine.Workflows;

/// <summary>
/// A node in a workflow: its id, node type, incoming edges and parameters; an optional title, and whether it is bypassed
/// (<c>bypass: true</c>: it does not run and passes its inputs through, see <see cref="Validation.BypassedNodes"/>).
/// </summary>
public sealed record WorkflowNode(
    string Id,
    string Type,
    IReadOnlyList<NodeEdge> Inputs,
    IReadOnlyList<NodeParameter> Parameters,
    SourceLocation? Location = null,
    string? Title = null,
    bool Bypass = false)
{
    /// <summary>The edge into <paramref name="port"/>, or null.</summary>
    public NodeEdge? Edge(string port) => Inputs.FirstOrDefault(e => e.Port == port);

    /// <summary>The parameter called <paramref name="name"/>, or null.</summary>
    public NodeParameter? Parameter(string name) => Parameters.FirstOrDefault(p => p.Name == name);
}
