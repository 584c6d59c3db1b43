namespace FlowDiffusion.Engine.Plugins;

/// <summary>A plugin folder that cannot be loaded; the message says why.</summary>
public sealed class PluginLoadException(string message, Exception? inner = null) : Exception(message, inner);
