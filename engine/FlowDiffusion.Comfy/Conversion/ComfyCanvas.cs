using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// What a UI-format ComfyUI workflow draws besides its graph — groups, Reroute nodes, node colours, collapsed and pinned
/// nodes — by ComfyUI node id, and how it lands in our editor section once the nodes have our ids.
/// Reroutes become reroute points on the converted links (drawn only), never nodes.
/// </summary>
internal sealed class ComfyCanvas
{
    // ComfyUI draws a Reroute as a 75×26 box at its pos; our reroute point is its centre.
    private const double RerouteWidth = 75, RerouteHeight = 26;

    private readonly List<EditorGroup> groups = [];
    private readonly Dictionary<string, NodePosition> reroutes = new(StringComparer.Ordinal);
    private readonly List<(string Target, string Origin, List<string> Reroutes)> routes = [];
    private readonly Dictionary<string, NodeColor> colors = new(StringComparer.Ordinal);
    private readonly HashSet<string> collapsed = new(StringComparer.Ordinal);
    private readonly HashSet<string> pinned = new(StringComparer.Ordinal);

    /// <summary>Reads <c>groups</c> (title, bounding [x, y, w, h], color) of a UI-format workflow.</summary>
    public void ReadGroups(JsonObject workflow)
    {
        foreach (var group in (workflow["groups"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var box = (group["bounding"] as JsonArray)?.Select(v => JsonNumbers.Number(v)).ToArray();
            if (box is not { Length: 4 } || box.Any(v => v is null || !double.IsFinite(v.Value))) continue;
            groups.Add(new EditorGroup(Text(group["title"]) ?? "Group", box[0]!.Value, box[1]!.Value, box[2]!.Value, box[3]!.Value, Text(group["color"])));
        }
    }

    /// <summary>Reads node <paramref name="id"/>'s colours and its collapsed and pinned flags.</summary>
    public void ReadNode(string id, JsonObject node)
    {
        var (title, body) = (Text(node["color"]), Text(node["bgcolor"]));
        if (title is not null || body is not null) colors[id] = new NodeColor(title, body);
        if (node["flags"] is JsonObject flags)
        {
            if (IsTrue(flags["collapsed"])) collapsed.Add(id);
            if (IsTrue(flags["pinned"])) pinned.Add(id);
        }
    }

    /// <summary>Reads Reroute node <paramref name="id"/>'s place.</summary>
    public void ReadReroute(string id, JsonObject node)
    {
        var pos = node["pos"] as JsonArray;
        if (pos is { Count: >= 2 } && JsonNumbers.Number(pos[0]) is { } x && JsonNumbers.Number(pos[1]) is { } y)
            reroutes[id] = new NodePosition(x + RerouteWidth / 2, y + RerouteHeight / 2);
    }

    /// <summary>Notes that the link into ComfyUI node <paramref name="target"/> from <paramref name="origin"/> passes these Reroutes, source first.</summary>
    public void ReadRoute(string target, string origin, List<string> rerouteIds)
    {
        if (rerouteIds.Count > 0) routes.Add((target, origin, rerouteIds));
    }

    /// <summary>
    /// <paramref name="workflow"/> with the canvas state in its editor section, mapped to our node ids (each ComfyUI node's
    /// main node, or for a route, every converted link between the two ComfyUI nodes' parts).
    /// </summary>
    public Workflow Apply(Workflow workflow, IReadOnlyDictionary<string, string> comfyIdOf)
    {
        var main = workflow.Nodes.Where(n => comfyIdOf.TryGetValue(n.Id, out var c) && n.Id == ApiPromptConverter.NodeId(c))
            .ToDictionary(n => comfyIdOf[n.Id], n => n.Id, StringComparer.Ordinal);
        var routeList = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        foreach (var node in workflow.Nodes)
        {
            if (!comfyIdOf.TryGetValue(node.Id, out var target)) continue;
            foreach (var edge in node.Inputs)
            {
                if (!comfyIdOf.TryGetValue(edge.SourceNode, out var origin)) continue;
                var route = routes.FirstOrDefault(r => r.Target == target && r.Origin == origin).Reroutes;
                var points = route?.Where(reroutes.ContainsKey).Select(RerouteId).ToList();
                if (points is { Count: > 0 }) routeList.Add(new(node.Id + "." + edge.Port, points));
            }
        }
        var used = routeList.SelectMany(r => r.Value).ToHashSet(StringComparer.Ordinal);
        var editor = (workflow.Editor ?? new EditorLayout([])) with
        {
            Groups = groups.Count > 0 ? groups : null,
            Colors = Nonempty(colors.Where(c => main.ContainsKey(c.Key)).Select(c => new KeyValuePair<string, NodeColor>(main[c.Key], c.Value))),
            Collapsed = Nonempty(collapsed.Where(main.ContainsKey).Select(c => main[c]).Order(StringComparer.Ordinal)),
            Pinned = Nonempty(pinned.Where(main.ContainsKey).Select(c => main[c]).Order(StringComparer.Ordinal)),
            Reroutes = Nonempty(reroutes.Where(r => used.Contains(RerouteId(r.Key))).Select(r => new KeyValuePair<string, NodePosition>(RerouteId(r.Key), r.Value))),
            Routes = routeList.Count > 0 ? routeList : null,
        };
        return workflow with { Editor = editor };
    }

    private static string RerouteId(string comfyId) => "r" + ApiPromptConverter.NodeId(comfyId)[1..];

    private static List<T>? Nonempty<T>(IEnumerable<T> items) => items.ToList() is { Count: > 0 } list ? list : null;

    private static bool IsTrue(JsonNode? value) => value is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    private static string? Text(JsonNode? value) => value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
