using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// What a UI-format ComfyUI workflow draws besides its graph — groups, Reroute nodes, node colours, collapsed and pinned
/// nodes — by ComfyUI node id, and how it lands in our editor section once the nodes have our ids.
/// Reroutes — Reroute nodes and the newer frontend's native reroutes (<c>extra.reroutes</c>, schema 0.4) — become reroute
/// points on the converted links (drawn only), never nodes.
/// </summary>
internal sealed class ComfyCanvas
{
    // ComfyUI draws a Reroute as a 75×26 box at its pos; our reroute point is its centre.
    private const double RerouteWidth = 75, RerouteHeight = 26;

    private readonly List<EditorGroup> groups = [];
    // Keyed by Reroute node id, or NativePrefix + native reroute id.
    private readonly Dictionary<string, NodePosition> reroutes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> nativeParent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> linkParent = new(StringComparer.Ordinal);
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

    /// <summary>
    /// Reads the native reroutes of the newer frontend: <c>extra.reroutes</c> ({id, parentId?, pos [x, y], linkIds}; a
    /// reroute's parent is the one before it, towards the link's origin) and each link's last reroute, from
    /// <c>extra.linkExtensions</c> ({id, parentId}) or a link object's own <c>parentId</c>. Schema 1 keeps the reroutes at
    /// the top level, which is read too.
    /// </summary>
    public void ReadNativeReroutes(JsonObject workflow)
    {
        var extra = workflow["extra"] as JsonObject;
        var list = (extra?["reroutes"] as JsonArray ?? []).Concat(workflow["reroutes"] as JsonArray ?? []);
        foreach (var reroute in list.OfType<JsonObject>())
        {
            if (Key(reroute["id"]) is not { } id) continue;
            if (reroute["pos"] is JsonArray { Count: >= 2 } pos && JsonNumbers.Number(pos[0]) is { } x && JsonNumbers.Number(pos[1]) is { } y
                && double.IsFinite(x) && double.IsFinite(y))
                reroutes[NativePrefix + id] = new NodePosition(x, y); // a native reroute's pos is its centre
            if (Key(reroute["parentId"]) is { } parent) nativeParent[id] = parent;
        }

        var extensions = (extra?["linkExtensions"] as JsonArray ?? []).Concat(workflow["links"] as JsonArray ?? []);
        foreach (var link in extensions.OfType<JsonObject>())
            if (Key(link["id"]) is { } id && Key(link["parentId"]) is { } parent) linkParent[id] = parent;
    }

    /// <summary>The native reroutes ComfyUI link <paramref name="linkId"/> passes, nearest its target first.</summary>
    public IEnumerable<string> NativeRoute(string linkId)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var id = linkParent.GetValueOrDefault(linkId); id is not null && seen.Add(id); id = nativeParent.GetValueOrDefault(id))
            yield return NativePrefix + id;
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

    private const string NativePrefix = "native:";

    // Reroute node 11 → r11; native reroute 3 → rr3.
    private static string RerouteId(string key) => key.StartsWith(NativePrefix, StringComparison.Ordinal)
        ? "rr" + ApiPromptConverter.NodeId(key[NativePrefix.Length..])[1..]
        : "r" + ApiPromptConverter.NodeId(key)[1..];

    private static string? Key(JsonNode? value) => value is JsonValue v && v.GetValueKind() is JsonValueKind.Number or JsonValueKind.String
        ? (v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString()) : null;

    private static List<T>? Nonempty<T>(IEnumerable<T> items) => items.ToList() is { Count: > 0 } list ? list : null;

    private static bool IsTrue(JsonNode? value) => value is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    private static string? Text(JsonNode? value) => value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
