using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

/// <summary>
/// The fixed geometry of a drawn node: port rows sit under the header at a fixed height, so port positions follow
/// from the node position alone (the canvas script uses the same numbers; nothing measures the DOM).
/// </summary>
public static class NodeLayout
{
    /// <summary>Node width in canvas units.</summary>
    public const double Width = 240;

    /// <summary>Header height.</summary>
    public const double HeaderHeight = 30;

    /// <summary>Height of one port row.</summary>
    public const double RowHeight = 24;

    /// <summary>Where input <paramref name="index"/> of a node at <paramref name="node"/> is drawn; a collapsed node's links meet its title bar.</summary>
    public static NodePosition InputPort(NodePosition node, int index, bool collapsed = false) => new(node.X, PortY(node, index, collapsed));

    /// <summary>Where output <paramref name="index"/> of a node at <paramref name="node"/> is drawn; a collapsed node's links meet its title bar.</summary>
    public static NodePosition OutputPort(NodePosition node, int index, bool collapsed = false) => new(node.X + Width, PortY(node, index, collapsed));

    /// <summary>The SVG path of a link between two port positions: a horizontal-tangent cubic bezier.</summary>
    public static string LinkPath(NodePosition from, NodePosition to)
    {
        var bend = Math.Max(40, Math.Abs(to.X - from.X) / 2);
        return FormattableString.Invariant($"M {from.X:0.#} {from.Y:0.#} C {from.X + bend:0.#} {from.Y:0.#}, {to.X - bend:0.#} {to.Y:0.#}, {to.X:0.#} {to.Y:0.#}");
    }

    /// <summary>
    /// About how tall a node of <paramref name="type"/> is drawn (header, port rows, one widget row per parameter, taller
    /// for multi-line text), for placing new nodes clear of others; unknown types get a small box.
    /// </summary>
    public static double EstimatedHeight(FlowDiffusion.Engine.Schema.NodeDescriptor? type) => type is null ? HeaderHeight + 40
        : HeaderHeight + Math.Max(type.Inputs.Count, type.Outputs.Count) * RowHeight
          + (type.Parameters.Count == 0 ? 0 : 12 + type.Parameters.Sum(p => p.Multiline ? 64 : 30));

    private static double PortY(NodePosition node, int index, bool collapsed) =>
        collapsed ? node.Y + HeaderHeight / 2 : node.Y + HeaderHeight + (index + 0.5) * RowHeight;
}
