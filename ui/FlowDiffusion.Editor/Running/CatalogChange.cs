using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Editor.Running;

/// <summary>
/// What a plugin reload changed in the node types, by id: added, removed, and rebuilt (the same id from a reloaded
/// plugin, whose ports or parameters may differ). A plugin folder the reload reused keeps its descriptors, so an
/// untouched node type is in none of the lists.
/// </summary>
public sealed record CatalogChange(int Count, IReadOnlyList<string> Added, IReadOnlyList<string> Removed, IReadOnlyList<string> Rebuilt)
{
    private const int NamesShown = 6;

    /// <summary>Whether the node types are the same before and after.</summary>
    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0 && Rebuilt.Count == 0;

    /// <summary>The status bar line, e.g. "Plugins reloaded: 14 node types (added: test.add, test.number)."</summary>
    public string Summary
    {
        get
        {
            var parts = new[] { ("added", Added), ("removed", Removed), ("rebuilt", Rebuilt) }
                .Where(p => p.Item2.Count > 0).Select(p => $"{p.Item1}: {Names(p.Item2)}").ToList();
            var types = Count == 1 ? "1 node type" : $"{Count} node types";
            return parts.Count == 0 ? $"Plugins reloaded: {types}, none changed." : $"Plugins reloaded: {types} ({string.Join("; ", parts)}).";
        }
    }

    /// <summary>The change from <paramref name="before"/> to <paramref name="after"/>.</summary>
    public static CatalogChange Between(NodeCatalog before, NodeCatalog after)
    {
        var old = before.All.ToDictionary(n => n.Id, StringComparer.Ordinal);
        var now = after.All.ToDictionary(n => n.Id, StringComparer.Ordinal);
        return new CatalogChange(
            after.Count,
            now.Keys.Where(id => !old.ContainsKey(id)).Order(StringComparer.Ordinal).ToList(),
            old.Keys.Where(id => !now.ContainsKey(id)).Order(StringComparer.Ordinal).ToList(),
            now.Where(n => old.TryGetValue(n.Key, out var was) && !ReferenceEquals(was, n.Value)).Select(n => n.Key).Order(StringComparer.Ordinal).ToList());
    }

    private static string Names(IReadOnlyList<string> ids) =>
        ids.Count <= NamesShown ? string.Join(", ", ids) : $"{string.Join(", ", ids.Take(NamesShown))} and {ids.Count - NamesShown} more";
}
