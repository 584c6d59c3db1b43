using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

/// <summary>Places nodes that have no saved position: columns by dependency depth, rows in file order.</summary>
public static class AutoLayout
{
    /// <summary>Horizontal distance between columns.</summary>
    public const double ColumnWidth = 300;

    /// <summary>Vertical distance between rows.</summary>
    public const double RowHeight = 200;

    /// <summary>A position for every node of <paramref name="workflow"/>, keeping the saved ones.</summary>
    public static IReadOnlyList<KeyValuePair<string, NodePosition>> Complete(Workflow workflow)
    {
        var saved = workflow.Editor?.Positions ?? [];
        var known = saved.Where(p => workflow.Node(p.Key) is not null).ToList();
        var placed = known.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        if (placed.Count == workflow.Nodes.Count) return known;

        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        int Depth(string id, int guard)
        {
            if (depth.TryGetValue(id, out var d)) return d;
            var node = workflow.Node(id);
            // The guard stops on cycles (the validator reports them); a cyclic node just gets some column.
            d = node is null || guard > workflow.Nodes.Count ? 0 : node.Inputs.Select(e => Depth(e.SourceNode, guard + 1) + 1).DefaultIfEmpty(0).Max();
            depth[id] = d;
            return d;
        }

        var rows = new Dictionary<int, int>();
        var result = new List<KeyValuePair<string, NodePosition>>(known);
        foreach (var node in workflow.Nodes.Where(n => !placed.Contains(n.Id)))
        {
            var column = Depth(node.Id, 0);
            var row = rows.GetValueOrDefault(column);
            rows[column] = row + 1;
            result.Add(new(node.Id, new NodePosition(40 + column * ColumnWidth, 40 + row * RowHeight)));
        }
        return result;
    }
}
