using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Plugins;

/// <summary>
/// A plugin that loaded: its manifest, folder and the node types it registered, the native libraries it brings that
/// the host does not provide (when any, its load context cannot be unloaded: a rebuild's old build stays in memory
/// until the host restarts), and whether the host unloads old builds at all
/// (<see cref="Hosting.FlowDiffusionOptions.UnloadPluginBuilds"/>).
/// </summary>
public sealed record LoadedPlugin(PluginManifest Manifest, string Folder, IReadOnlyList<NodeDescriptor> Nodes, IReadOnlyList<string>? OwnNativeLibraries = null, bool UnloadingOn = true)
{
    /// <summary>Whether an old build of this plugin is unloaded after a rebuild once no run uses it.</summary>
    public bool Unloadable => UnloadingOn && OwnNativeLibraries is not { Count: > 0 };
}
