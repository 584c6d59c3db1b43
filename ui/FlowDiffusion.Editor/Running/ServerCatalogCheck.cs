using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Running;

/// <summary>
/// The editor edits with its own node catalog (its plugins), and a server it queues on may have other plugins or other
/// versions: this names the node types of a graph the server lacks, and those whose version differs, before a run is refused there.
/// </summary>
public static class ServerCatalogCheck
{
    private const int NamesShown = 6;

    /// <summary>
    /// The warning for <paramref name="workflow"/> on server <paramref name="serverName"/> offering <paramref name="serverTypes"/>
    /// (id → version), or null when it offers every type the graph uses at the version the editor has.
    /// </summary>
    public static string? Warning(Workflow workflow, NodeCatalog local, IReadOnlyDictionary<string, string> serverTypes, string serverName)
    {
        var types = workflow.Nodes.Select(n => n.Type).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var missing = types.Where(t => !serverTypes.ContainsKey(t)).ToList();
        var differing = types.Where(t => serverTypes.TryGetValue(t, out var version) && local.Find(t) is { } here && here.Version != version)
            .Select(t => $"{t} (editor {local.Find(t)!.Version}, server {serverTypes[t]})").ToList();
        if (missing.Count == 0 && differing.Count == 0) return null;
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"{serverName} lacks node type{(missing.Count == 1 ? "" : "s")} {Names(missing)}: install the plugin there, or runs of this graph are refused.");
        if (differing.Count > 0) parts.Add($"Other versions on {serverName}: {Names(differing)}.");
        return string.Join(" ", parts);
    }

    private static string Names(IReadOnlyList<string> names) =>
        names.Count <= NamesShown ? string.Join(", ", names) : $"{string.Join(", ", names.Take(NamesShown))} and {names.Count - NamesShown} more";
}
