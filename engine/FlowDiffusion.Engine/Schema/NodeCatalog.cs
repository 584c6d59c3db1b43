namespace FlowDiffusion.Engine.Schema;

/// <summary>The node types the host knows, by id. Immutable: plugin reloads build a new catalog.</summary>
public sealed class NodeCatalog
{
    private readonly Dictionary<string, NodeDescriptor> _byId;

    /// <summary>Builds a catalog; ids must be unique.</summary>
    public NodeCatalog(IEnumerable<NodeDescriptor> nodes)
    {
        _byId = new Dictionary<string, NodeDescriptor>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            if (!_byId.TryAdd(node.Id, node))
                throw new ArgumentException($"node id '{node.Id}' is registered twice (plugins '{_byId[node.Id].Plugin}' and '{node.Plugin}').");
        }
    }

    /// <summary>All node types, ordered by category then id.</summary>
    public IReadOnlyList<NodeDescriptor> All => _byId.Values.OrderBy(n => n.Category, StringComparer.Ordinal).ThenBy(n => n.Id, StringComparer.Ordinal).ToList();

    /// <summary>The number of node types.</summary>
    public int Count => _byId.Count;

    /// <summary>The node type with this id, or null.</summary>
    public NodeDescriptor? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>Up to three known ids closest to <paramref name="id"/> (for "did you mean").</summary>
    public IReadOnlyList<string> Suggest(string id) => Closest(id, _byId.Keys);

    /// <summary>Up to three of <paramref name="candidates"/> within a small edit distance of <paramref name="name"/>.</summary>
    public static IReadOnlyList<string> Closest(string name, IEnumerable<string> candidates)
    {
        var limit = Math.Max(2, name.Length / 3);
        return candidates
            .Select(c => (Name: c, Distance: EditDistance(name, c)))
            .Where(x => x.Distance <= limit || x.Name.Contains(name, StringComparison.OrdinalIgnoreCase) ||
                        (x.Name.Split('.').LastOrDefault() is { } last && name.Split('.').Last() == last))
            .OrderBy(x => x.Distance).ThenBy(x => x.Name, StringComparer.Ordinal)
            .Take(3).Select(x => x.Name).ToList();
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
