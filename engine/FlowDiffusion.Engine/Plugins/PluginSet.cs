using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Plugins;

/// <summary>The result of loading plugin folders: what loaded, what was skipped, and the node catalog they make.</summary>
public sealed record PluginSet(IReadOnlyList<LoadedPlugin> Plugins, IReadOnlyList<PluginLoadError> Errors, NodeCatalog Catalog);
