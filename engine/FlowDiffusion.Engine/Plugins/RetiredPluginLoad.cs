using McMaster.NETCore.Plugins;

namespace FlowDiffusion.Engine.Plugins;

/// <summary>A plugin load that a rebuild or removal replaced: unloaded once the runs that may use it have ended.</summary>
internal sealed record RetiredPluginLoad(string Plugin, string Folder, PluginLoader Loader, PluginNativeLibraries? Native);
