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

    /// <summary>The narrowest a collapsed node is drawn.</summary>
    public const double CollapsedMinWidth = 80;

    // A collapsed title bar: its side padding and the room one character of the 13 px semibold title takes (on average;
    // a longer title is cut with an ellipsis), and the pin mark's room.
    private const double CollapsedPadding = 24, CharWidth = 7.5, PinWidth = 18;

    /// <summary>Where input <paramref name="index"/> of a node at <paramref name="node"/> is drawn; a collapsed node's links meet its title bar.</summary>
    public static NodePosition InputPort(NodePosition node, int index, bool collapsed = false) => new(node.X, PortY(node, index, collapsed));

    /// <summary>
    /// Where output <paramref name="index"/> of a node at <paramref name="node"/> is drawn: on its right edge, which is
    /// <paramref name="width"/> from its left (see <see cref="CollapsedWidth"/>); a collapsed node's links meet its title bar.
    /// </summary>
    public static NodePosition OutputPort(NodePosition node, int index, bool collapsed = false, double width = Width) => new(node.X + width, PortY(node, index, collapsed));

    /// <summary>
    /// How wide a collapsed node titled <paramref name="title"/> is drawn: its title bar shrinks to the title (as ComfyUI's
    /// does), with room for the pin mark when <paramref name="pinned"/>, between <see cref="CollapsedMinWidth"/> and
    /// <see cref="Width"/>. The canvas script reads the width from the node's style, so both draw links to the same edge.
    /// </summary>
    public static double CollapsedWidth(string title, bool pinned = false) =>
        Math.Clamp(Math.Ceiling(CollapsedPadding + title.Length * CharWidth + (pinned ? PinWidth : 0)), CollapsedMinWidth, Width);

    /// <summary>The SVG path of a link between two port positions: a horizontal-tangent cubic bezier.</summary>
    public static string LinkPath(NodePosition from, NodePosition to)
    {
        var bend = Math.Max(40, Math.Abs(to.X - from.X) / 2);
        return FormattableString.Invariant($"M {from.X:0.#} {from.Y:0.#} C {from.X + bend:0.#} {from.Y:0.#}, {to.X - bend:0.#} {to.Y:0.#}, {to.X:0.#} {to.Y:0.#}");
    }

    /// <summary>
    /// About how tall a node of <paramref name="type"/> is drawn (header, port rows, one widget row per parameter, taller
    /// for multi-line text; its advanced parameters behind their closed toggle's row, as a new node shows them), for
    /// placing new nodes clear of others; unknown types get a small box.
    /// </summary>
    public static double EstimatedHeight(FlowDiffusion.Engine.Schema.NodeDescriptor? type) => type is null ? HeaderHeight + 40
        : HeaderHeight + Math.Max(type.Inputs.Count, type.Outputs.Count) * RowHeight
          + (type.Parameters.Count == 0 ? 0 : 12 + type.Parameters.Where(p => !p.Advanced).Sum(p => p.Multiline ? MultilineParameterHeight : ParameterRowHeight)
             + (type.Parameters.Any(p => p.Advanced) ? AdvancedToggleHeight : 0));

    /// <summary>
    /// At least how tall a parameter row is drawn: its widget (about 24 px) with 3 px margins above and below, which do not
    /// collapse between the rows of the parameters' grid, and room for a name wrapped onto a second line.
    /// </summary>
    public const double ParameterRowHeight = 34;

    /// <summary>At least how tall a multi-line text parameter's row is drawn.</summary>
    public const double MultilineParameterHeight = 68;

    /// <summary>About how tall the "Advanced (N)" toggle row is drawn.</summary>
    public const double AdvancedToggleHeight = 26;

    private static double PortY(NodePosition node, int index, bool collapsed) =>
        collapsed ? node.Y + HeaderHeight / 2 : node.Y + HeaderHeight + (index + 0.5) * RowHeight;
}
