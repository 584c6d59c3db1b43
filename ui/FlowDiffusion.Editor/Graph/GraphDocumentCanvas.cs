using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Graph;

// The canvas-only state of a document: collapsed, pinned and coloured nodes, the nodes that show their advanced
// parameters, groups and reroute points. All of it lives
// in the workflow's editor section (the engine keeps it and never runs it); every change is an undoable edit.
public sealed partial class GraphDocument
{
    /// <summary>Space between a new group's edge and the nodes it is drawn around.</summary>
    public const double GroupPadding = 10;

    /// <summary>Height of a group's title bar.</summary>
    public const double GroupTitleHeight = 34;

    private EditorLayout Layout => Workflow.Editor!;

    /// <summary>Whether node <paramref name="nodeId"/> is drawn as its title bar only.</summary>
    public bool IsCollapsed(string nodeId) => Layout.IsCollapsed(nodeId);

    /// <summary>Whether node <paramref name="nodeId"/> shows its advanced parameters (closed, they hide behind its "Advanced" toggle).</summary>
    public bool ShowsAdvanced(string nodeId) => Layout.ShowsAdvanced(nodeId);

    /// <summary>Whether node <paramref name="nodeId"/> is pinned: it cannot be moved, nor box-selected.</summary>
    public bool IsPinned(string nodeId) => Layout.IsPinned(nodeId);

    /// <summary>The title node <paramref name="nodeId"/> shows: its own, else its type's, else the type id.</summary>
    public string TitleOf(string nodeId) => Workflow.Node(nodeId) is not { } node ? nodeId : node.Title ?? Descriptor(nodeId)?.Title ?? node.Type;

    /// <summary>How wide node <paramref name="nodeId"/> is drawn: <see cref="NodeLayout.Width"/>, or its title's width when collapsed.</summary>
    public double WidthOf(string nodeId) => IsCollapsed(nodeId) ? NodeLayout.CollapsedWidth(TitleOf(nodeId), IsPinned(nodeId)) : NodeLayout.Width;

    /// <summary>The groups, in drawing order.</summary>
    public IReadOnlyList<EditorGroup> Groups => Layout.Groups ?? [];

    /// <summary>Collapses the nodes to their title bars or expands them, as one edit.</summary>
    public void SetCollapsed(IEnumerable<string> nodeIds, bool collapsed) =>
        Commit(Workflow with { Editor = Layout with { Collapsed = Flag(Layout.Collapsed, nodeIds, collapsed) } }, onlyIfChanged: true);

    /// <summary>Opens or closes the nodes' "Advanced" toggles, as one edit (saved with the workflow, as collapse is).</summary>
    public void SetAdvancedShown(IEnumerable<string> nodeIds, bool shown) =>
        Commit(Workflow with { Editor = Layout with { Advanced = Flag(Layout.Advanced, nodeIds, shown) } }, onlyIfChanged: true);

    /// <summary>Pins the nodes in place or frees them, as one edit.</summary>
    public void SetPinned(IEnumerable<string> nodeIds, bool pinned) =>
        Commit(Workflow with { Editor = Layout with { Pinned = Flag(Layout.Pinned, nodeIds, pinned) } }, onlyIfChanged: true);

    /// <summary>Colours the nodes, or gives them the default colours when <paramref name="color"/> is null, as one edit.</summary>
    public void SetColor(IEnumerable<string> nodeIds, NodeColor? color)
    {
        var chosen = Existing(nodeIds);
        var kept = (Layout.Colors ?? []).Where(c => !chosen.Contains(c.Key));
        var added = color is null ? [] : chosen.Select(id => new KeyValuePair<string, NodeColor>(id, color));
        Commit(Workflow with { Editor = Layout with { Colors = [.. kept, .. added] } }, onlyIfChanged: true);
    }

    /// <summary>
    /// Draws a group titled <paramref name="title"/> around the nodes (their boxes, with <see cref="GroupPadding"/> and room
    /// for the group's title bar); returns its index. <paramref name="heightOf"/> gives a node's drawn height where the
    /// view knows it; otherwise it is estimated.
    /// </summary>
    public int AddGroup(IEnumerable<string> nodeIds, string title = "Group", Func<string, double?>? heightOf = null)
    {
        var chosen = Existing(nodeIds);
        if (chosen.Count == 0) return -1;
        var boxes = chosen.Select(id => (At: PositionOf(id), Width: WidthOf(id), Height: IsCollapsed(id) ? NodeLayout.HeaderHeight
            : heightOf?.Invoke(id) ?? NodeLayout.EstimatedHeight(Descriptor(id)))).ToList();
        double x0 = boxes.Min(b => b.At.X), y0 = boxes.Min(b => b.At.Y);
        double x1 = boxes.Max(b => b.At.X + b.Width), y1 = boxes.Max(b => b.At.Y + b.Height);
        var group = new EditorGroup(title, x0 - GroupPadding, y0 - GroupPadding - GroupTitleHeight,
            x1 - x0 + 2 * GroupPadding, y1 - y0 + 2 * GroupPadding + GroupTitleHeight);
        Commit(Workflow with { Editor = Layout with { Groups = [.. Groups, group] } });
        return Groups.Count - 1;
    }

    /// <summary>Renames group <paramref name="index"/>; an empty title is ignored.</summary>
    public void RenameGroup(int index, string title)
    {
        if (string.IsNullOrWhiteSpace(title)) return;
        ChangeGroup(index, g => g with { Title = title.Trim() });
    }

    /// <summary>Sets the colour of group <paramref name="index"/> (null: the default).</summary>
    public void SetGroupColor(int index, string? color) => ChangeGroup(index, g => g with { Color = color });

    /// <summary>Gives group <paramref name="index"/> a new size; its top-left corner stays.</summary>
    public void ResizeGroup(int index, double width, double height) =>
        ChangeGroup(index, g => g with { Width = Math.Max(80, Math.Round(width)), Height = Math.Max(GroupTitleHeight + 20, Math.Round(height)) });

    /// <summary>Removes group <paramref name="index"/>; its nodes stay where they are.</summary>
    public void RemoveGroup(int index)
    {
        if (index < 0 || index >= Groups.Count) return;
        Commit(Workflow with { Editor = Layout with { Groups = Groups.Where((_, i) => i != index).ToList() } });
    }

    /// <summary>
    /// The nodes in group <paramref name="index"/>: those whose title bar's centre (a collapsed node's narrower one
    /// included) lies in its box (the canvas script uses the same rule while dragging).
    /// </summary>
    public IReadOnlyList<string> GroupMembers(int index) => index < 0 || index >= Groups.Count ? []
        : Workflow.Nodes.Select(n => n.Id).Where(id => PositionOf(id) is var at && Groups[index].Contains(at.X + WidthOf(id) / 2, at.Y + NodeLayout.HeaderHeight / 2)).ToList();

    /// <summary>
    /// Moves group <paramref name="index"/> by (<paramref name="dx"/>, <paramref name="dy"/>) with the nodes and reroute
    /// points inside it, pinned nodes excepted, as one edit.
    /// </summary>
    public void MoveGroup(int index, double dx, double dy)
    {
        if (index < 0 || index >= Groups.Count || (dx == 0 && dy == 0)) return;
        var group = Groups[index];
        var members = GroupMembers(index).Where(id => !IsPinned(id)).ToHashSet(StringComparer.Ordinal);
        Commit(Workflow with
        {
            Editor = Layout with
            {
                Groups = Groups.Select((g, i) => i == index ? g with { X = g.X + dx, Y = g.Y + dy } : g).ToList(),
                Positions = Layout.Positions.Select(p => members.Contains(p.Key) ? new KeyValuePair<string, NodePosition>(p.Key, new(p.Value.X + dx, p.Value.Y + dy)) : p).ToList(),
                Reroutes = Layout.Reroutes?.Select(r => group.Contains(r.Value.X, r.Value.Y) ? new KeyValuePair<string, NodePosition>(r.Key, new(r.Value.X + dx, r.Value.Y + dy)) : r).ToList(),
            },
        });
    }

    /// <summary>Reroute points by id.</summary>
    public IReadOnlyList<KeyValuePair<string, NodePosition>> Reroutes => Layout.Reroutes ?? [];

    /// <summary>The reroute ids the link into <paramref name="toNode"/>.<paramref name="input"/> passes, source first.</summary>
    public IReadOnlyList<string> RouteOf(string toNode, string input) => Layout.RouteOf(toNode, input);

    /// <summary>
    /// Puts a reroute point at <paramref name="at"/> on the link into <paramref name="toNode"/>.<paramref name="input"/>,
    /// after the link's first <paramref name="segment"/> reroutes (0: right after the source); returns its id, or null
    /// when there is no such link. The edge stays direct: reroutes are drawn only and never change a run.
    /// </summary>
    public string? AddReroute(string toNode, string input, int segment, NodePosition at)
    {
        if (Workflow.Node(toNode)?.Edge(input) is null) return null;
        var id = "r1";
        for (var i = 2; Layout.RerouteAt(id) is not null; i++) id = $"r{i}";
        var route = RouteOf(toNode, input).ToList();
        route.Insert(Math.Clamp(segment, 0, route.Count), id);
        var key = toNode + "." + input;
        Commit(Workflow with
        {
            Editor = Layout with
            {
                Reroutes = [.. Reroutes, new(id, new NodePosition(Math.Round(at.X), Math.Round(at.Y)))],
                Routes = [.. (Layout.Routes ?? []).Where(r => r.Key != key), new(key, route)],
            },
        });
        return id;
    }

    /// <summary>Moves reroute point <paramref name="id"/>.</summary>
    public void MoveReroute(string id, NodePosition to) =>
        Commit(Workflow with { Editor = Layout with { Reroutes = Reroutes.Select(r => r.Key == id ? new KeyValuePair<string, NodePosition>(id, to) : r).ToList() } }, onlyIfChanged: true);

    /// <summary>Removes reroute point <paramref name="id"/>; the links through it are drawn straight again.</summary>
    public void RemoveReroute(string id)
    {
        if (Layout.RerouteAt(id) is null) return;
        Commit(Workflow with
        {
            Editor = Layout with
            {
                Reroutes = Reroutes.Where(r => r.Key != id).ToList(),
                Routes = Layout.Routes?.Select(r => new KeyValuePair<string, IReadOnlyList<string>>(r.Key, r.Value.Where(x => x != id).ToList())).ToList(),
            },
        });
    }

    private void Commit(Workflow next, bool onlyIfChanged)
    {
        next = Tidy(next);
        if (onlyIfChanged && WorkflowYamlWriter.Write(next) == WorkflowYamlWriter.Write(Workflow)) return;
        Commit(next);
    }

    private void ChangeGroup(int index, Func<EditorGroup, EditorGroup> change)
    {
        if (index < 0 || index >= Groups.Count) return;
        Commit(Workflow with { Editor = Layout with { Groups = Groups.Select((g, i) => i == index ? change(g) : g).ToList() } }, onlyIfChanged: true);
    }

    private HashSet<string> Existing(IEnumerable<string> nodeIds) =>
        nodeIds.Where(id => Workflow.Node(id) is not null).ToHashSet(StringComparer.Ordinal);

    private List<string> Flag(IReadOnlyList<string>? flagged, IEnumerable<string> nodeIds, bool on)
    {
        var chosen = Existing(nodeIds);
        var kept = (flagged ?? []).Where(id => !chosen.Contains(id)).ToList();
        return on ? [.. kept, .. Workflow.Nodes.Select(n => n.Id).Where(chosen.Contains)] : kept;
    }

    // The link into `key` (node.port) is drawn straight: used when the link now comes from another output.
    private static Workflow WithoutRoute(Workflow workflow, string? key) => key is null || workflow.Editor?.Routes is not { } routes ? workflow
        : workflow with { Editor = workflow.Editor with { Routes = routes.Where(r => r.Key != key).ToList() } };

    // Keeps the canvas state consistent with the graph: flags of removed nodes go, routes of removed links go, and a
    // reroute no link passes any more goes with them.
    private static Workflow Tidy(Workflow workflow)
    {
        if (workflow.Editor is not { } editor) return workflow;
        var ids = workflow.Nodes.Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        var points = (editor.Reroutes ?? []).Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
        var routes = editor.Routes?
            .Where(r => r.Key.LastIndexOf('.') is > 0 and var dot && workflow.Node(r.Key[..dot])?.Edge(r.Key[(dot + 1)..]) is not null)
            .Select(r => new KeyValuePair<string, IReadOnlyList<string>>(r.Key, r.Value.Where(points.Contains).ToList()))
            .Where(r => r.Value.Count > 0).ToList();
        var used = (routes ?? []).SelectMany(r => r.Value).ToHashSet(StringComparer.Ordinal);
        return workflow with
        {
            Editor = editor with
            {
                Collapsed = editor.Collapsed?.Where(ids.Contains).Distinct().ToList(),
                Advanced = editor.Advanced?.Where(ids.Contains).Distinct().ToList(),
                Pinned = editor.Pinned?.Where(ids.Contains).Distinct().ToList(),
                Colors = editor.Colors?.Where(c => ids.Contains(c.Key)).ToList(),
                Reroutes = editor.Reroutes?.Where(r => used.Contains(r.Key)).ToList(),
                Routes = routes,
            },
        };
    }
}
