namespace FlowDiffusion.Engine.Workflows;

/// <summary>One entry of a node's <c>in:</c> section: input <see cref="Port"/> takes <c>SourceNode.SourceOutput</c>.</summary>
public sealed record NodeEdge(string Port, string SourceNode, string SourceOutput, SourceLocation? Location = null)
{
    /// <summary>The edge's source as written in YAML.</summary>
    public string Source => $"{SourceNode}.{SourceOutput}";
}
