using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Plugins;

/// <summary>
/// A plugin that loaded: its manifest, folder and the node types it registered, and the native libraries it brings
/// that the host does not provide (when any, its load context cannot be unloaded: a rebuild's old build stays in
/// memory until the host restarts).
/// </summary>
public sealed record LoadedPlugin(PluginManifest Manifest, string Folder, IReadOnlyList<NodeDescriptor> Nodes, IReadOnlyList<string>? OwnNativeLibraries = null)
{
    /// <summary>Whether an old build of this plugin is unloaded after a rebuild once no run uses it.</summary>
    public bool Unloadable => OwnNativeLibraries is not { Count: > 0 };
}
