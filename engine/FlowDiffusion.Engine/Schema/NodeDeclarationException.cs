namespace FlowDiffusion.Engine.Schema;

/// <summary>A node class whose declaration the engine cannot use (bad id, unsupported parameter type, …).</summary>
public sealed class NodeDeclarationException(string message, Exception? inner = null) : Exception(message, inner);
