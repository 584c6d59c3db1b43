namespace FlowDiffusion.Engine.Plugins;

/// <summary>A plugin, or one node of it, that was skipped, and why.</summary>
/// <param name="Plugin">The plugin id, or the folder name when the manifest could not be read.</param>
/// <param name="Folder">The plugin folder.</param>
/// <param name="Cause">What went wrong, in words a user can act on.</param>
public sealed record PluginLoadError(string Plugin, string Folder, string Cause)
{
    /// <inheritdoc />
    public override string ToString() => $"plugin '{Plugin}' ({Folder}): {Cause}";
}
