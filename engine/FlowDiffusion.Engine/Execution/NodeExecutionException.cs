namespace FlowDiffusion.Engine.Execution;

/// <summary>A node failed: it threw, produced a wrong output, or could not be created. Names node, type and plugin.</summary>
public sealed class NodeExecutionException(string nodeId, string nodeType, string plugin, string message, Exception? inner = null)
    : Exception($"node '{nodeId}' ({nodeType}, plugin '{plugin}') failed: {message}", inner)
{
    /// <summary>The node id.</summary>
    public string NodeId { get; } = nodeId;

    /// <summary>The node type id.</summary>
    public string NodeType { get; } = nodeType;

    /// <summary>The plugin that provides the node type.</summary>
    public string Plugin { get; } = plugin;
}
