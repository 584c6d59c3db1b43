namespace FlowDiffusion.Sdk;

/// <summary>
/// Declares a class as a node type. The class implements <see cref="INode"/>; its <see cref="InputAttribute"/>,
/// <see cref="ParameterAttribute"/> and <see cref="OutputAttribute"/> properties are the node's schema, read by the
/// validator, the CLI, the HTTP API and the editor alike.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class NodeAttribute : Attribute
{
    /// <summary>Declares a node type.</summary>
    /// <param name="id">The node id, <c>namespace.name</c> in lower case, e.g. <c>clip.encode</c>.</param>
    /// <param name="version">The node's semantic version, e.g. <c>1.0.0</c>; bump it when outputs change for the same inputs.</param>
    public NodeAttribute(string id, string version)
    {
        Id = id;
        Version = version;
    }

    /// <summary>The node id, <c>namespace.name</c>.</summary>
    public string Id { get; }

    /// <summary>The node's semantic version.</summary>
    public string Version { get; }

    /// <summary>A human title for the editor; defaults to a title made from the id.</summary>
    public string? Title { get; init; }

    /// <summary>The library category, e.g. <c>conditioning</c> or <c>sampling</c>; slashes nest.</summary>
    public string Category { get; init; } = "other";

    /// <summary>What the node does, in a sentence or two.</summary>
    public string Description { get; init; } = "";

    /// <summary>
    /// Whether the same inputs always give the same outputs. Only deterministic nodes are served from the cache;
    /// a non-deterministic node runs every time and so do the nodes downstream of it.
    /// </summary>
    public bool Deterministic { get; init; } = true;

    /// <summary>
    /// Whether the node is a sink (saves or shows something). A run without chosen targets executes the sinks and
    /// what they need; nodes nothing depends on are skipped.
    /// </summary>
    public bool IsOutput { get; init; }
}
