namespace FlowDiffusion.Client;

/// <summary>One node type the server offers (<c>GET /api/nodes</c>): its id, semver version and the plugin it comes from.</summary>
/// <param name="Id">The type id (<c>namespace.name</c>).</param>
/// <param name="Version">Its version.</param>
/// <param name="Plugin">The plugin that provides it.</param>
public sealed record NodeTypeInfo(string Id, string Version, string? Plugin);
