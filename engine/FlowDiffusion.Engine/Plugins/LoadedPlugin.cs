using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Plugins;

/// <summary>A plugin that loaded: its manifest, folder and the node types it registered.</summary>
public sealed record LoadedPlugin(PluginManifest Manifest, string Folder, IReadOnlyList<NodeDescriptor> Nodes);
