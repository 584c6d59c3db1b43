using System.Text.Json;
using System.Text.Json.Nodes;
using static FlowDiffusion.Comfy.Conversion.UiJson;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// Inlines the subgraphs of a workflow saved by ComfyUI's editor (<c>definitions.subgraphs</c>; an instance node's type is
/// its subgraph's id) into one flat graph, as ComfyUI does before it queues a prompt: inner nodes get the ids
/// <c>instance:inner</c> (nested: <c>a:b:c</c>), links from the subgraph's input node (−10) continue from whatever feeds
/// the instance's input of that name, links out of an instance continue from what feeds the subgraph's output node (−20),
/// and widgets promoted to the instance (<c>properties.proxyWidgets</c>, or an unlinked instance input's widget) become
/// Primitive values on the inner inputs. Inner nodes are placed at the instance's position, keeping their layout.
/// </summary>
internal static class SubgraphInlining
{
    /// <summary>How deep subgraphs may nest (a subgraph containing itself is reported when it passes this).</summary>
    public const int MaxDepth = 16;

    /// <summary>The most nodes the inlined graph may hold.</summary>
    public const int MaxNodes = 10_000;

    private const long InputNode = -10;
    private const long OutputNode = -20;

    /// <summary>
    /// The flat workflow: <paramref name="workflow"/> itself when it has no subgraphs, else a copy with every instance
    /// replaced by its nodes and links in ComfyUI's array form.
    /// </summary>
    /// <param name="workflow">The editor's workflow.</param>
    /// <param name="problems">Gets what stops inlining (unknown subgraph, nesting too deep, too many nodes).</param>
    public static JsonObject Inline(JsonObject workflow, List<string> problems)
    {
        var definitions = ((workflow["definitions"] as JsonObject)?["subgraphs"] as JsonArray ?? []).OfType<JsonObject>()
            .Where(s => s["id"] is JsonValue).GroupBy(s => Id(s["id"]!), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        if (definitions.Count == 0) return workflow;
        var flat = new Inliner(definitions, problems);
        flat.Level(Graph.Of(workflow), prefix: "", instance: null, depth: 0);
        var result = new JsonObject();
        foreach (var (key, value) in workflow)
        {
            if (key is not ("nodes" or "links" or "definitions")) result[key] = value?.DeepClone();
        }

        result["nodes"] = new JsonArray([.. flat.Nodes]);
        result["links"] = new JsonArray([.. flat.Links.Select(l => (JsonNode)new JsonArray(l.Key, l.Value.Origin, l.Value.Slot, l.Value.Target, l.Value.TargetSlot, l.Value.Type))]);
        return result;
    }

    // One level's nodes and links (link id → origin, slot, target, slot, type), from array or object link records.
    private sealed record Graph(IReadOnlyList<JsonObject> Nodes, Dictionary<string, (string Origin, long Slot, string Target, long TargetSlot, string Type)> Links)
    {
        public Dictionary<string, JsonObject> ById { get; } = Nodes.GroupBy(n => Id(n["id"]!), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

        public static Graph Of(JsonObject level)
        {
            var links = new Dictionary<string, (string, long, string, long, string)>(StringComparer.Ordinal);
            foreach (var link in level["links"] as JsonArray ?? [])
            {
                if (link is JsonArray { Count: >= 5 } a)
                    links[Id(a[0]!)] = (Id(a[1]!), JsonNumbers.Integer(a[2]) ?? -1, Id(a[3]!), JsonNumbers.Integer(a[4]) ?? -1, a.Count > 5 ? Text(a[5]) : "");
                else if (link is JsonObject o && o["id"] is { } id && o["origin_id"] is { } origin && o["target_id"] is { } target)
                    links[Id(id)] = (Id(origin), JsonNumbers.Integer(o["origin_slot"]) ?? -1, Id(target), JsonNumbers.Integer(o["target_slot"]) ?? -1, Text(o["type"]));
            }

            return new Graph([.. (level["nodes"] as JsonArray ?? []).OfType<JsonObject>().Where(n => n["id"] is JsonValue)], links);
        }
    }

    // An instance being inlined: its node, its definition's graph, the prefix of its inner ids, and the level it sits in.
    private sealed record Instance(JsonObject Node, JsonObject Definition, Graph Inner, string Prefix, Graph Outer, string OuterPrefix, Instance? Parent)
    {
        // Inner positions move so that the subgraph's top-left node sits where the instance is drawn (nested ones too).
        public (double X, double Y) Offset { get; } = Place(Node, Inner, Parent);
    }

    private sealed class Inliner(Dictionary<string, JsonObject> definitions, List<string> problems)
    {
        public List<JsonNode> Nodes { get; } = [];

        public Dictionary<string, (string Origin, long Slot, string Target, long TargetSlot, string Type)> Links { get; } = new(StringComparer.Ordinal);

        // Each instance once, by its inner prefix: Level expands it and every link out of it is resolved through it, so its
        // definition is parsed and its placement computed one time however many links read its outputs.
        private readonly Dictionary<string, Instance> instances = new(StringComparer.Ordinal);

        private int primitives;

        private Instance InstanceOf(JsonObject node, JsonObject definition, string prefix, Graph outer, Instance? parent)
        {
            var inner = $"{prefix}{Id(node["id"]!)}:";
            if (!instances.TryGetValue(inner, out var instance))
                instances[inner] = instance = new Instance(node, definition, Graph.Of(definition), inner, outer, prefix, parent);
            return instance;
        }

        public void Level(Graph graph, string prefix, Instance? instance, int depth)
        {
            var (dx, dy) = instance?.Offset ?? (0, 0);
            foreach (var node in graph.Nodes)
            {
                var id = Id(node["id"]!);
                if (Expands(node, definitions, out var definition))
                {
                    if (depth + 1 > MaxDepth)
                    {
                        problems.Add($"node {prefix}{id}: subgraphs nest more than {MaxDepth} deep (does subgraph '{Text(node["type"])}' contain itself?)");
                        continue;
                    }

                    var inner = InstanceOf(node, definition, prefix, graph, instance);
                    Level(inner.Inner, inner.Prefix, inner, depth + 1);
                    continue;
                }

                if (Nodes.Count >= MaxNodes)
                {
                    problems.Add($"the workflow has more than {MaxNodes} nodes once its subgraphs are inlined");
                    return;
                }

                var copy = (JsonObject)node.DeepClone();
                copy["id"] = prefix + id;
                if (instance is not null && copy["pos"] is JsonArray { Count: >= 2 } pos && JsonNumbers.Number(pos[0]) is { } x && JsonNumbers.Number(pos[1]) is { } y)
                    copy["pos"] = new JsonArray(x + dx, y + dy);
                foreach (var input in (copy["inputs"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    if (input["link"] is JsonValue link && link.GetValueKind() != JsonValueKind.Null)
                        input["link"] = Source(graph, prefix, instance, Id(link), 0) is { } flat ? flat : null;
                }

                if (instance is not null) Promote(instance, id, copy);
                Nodes.Add(copy);
            }
        }

        // The flat link id that feeds link linkId of a level, following subgraph inputs out and instance outputs in; null
        // where nothing feeds it.
        private string? Source(Graph graph, string prefix, Instance? instance, string linkId, int hops)
        {
            if (hops > 4 * MaxDepth || !graph.Links.TryGetValue(linkId, out var link)) return null;
            if (link.Origin == InputNode.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                if (instance is null) return null;
                var name = Text(((instance.Definition["inputs"] as JsonArray)?.ElementAtOrDefault((int)link.Slot) as JsonObject)?["name"]);
                var outer = (instance.Node["inputs"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(i => Text(i["name"]) == name);
                if (outer?["link"] is JsonValue outerLink && outerLink.GetValueKind() != JsonValueKind.Null)
                    return Source(instance.Outer, instance.OuterPrefix, instance.Parent, Id(outerLink), hops + 1);
                return WidgetOf(instance, name);
            }

            if (graph.ById.TryGetValue(link.Origin, out var origin) && Expands(origin, definitions, out var definition))
            {
                // Out of an instance: what feeds the subgraph's output node at that slot.
                var child = InstanceOf(origin, definition, prefix, graph, instance);
                var feeding = child.Inner.Links.FirstOrDefault(l => l.Value.Target == OutputNode.ToString(System.Globalization.CultureInfo.InvariantCulture) && l.Value.TargetSlot == link.Slot);
                return feeding.Key is null ? null : Source(child.Inner, child.Prefix, child, feeding.Key, hops + 1);
            }

            var flat = prefix + linkId;
            Links[flat] = (prefix + link.Origin, link.Slot, prefix + link.Target, link.TargetSlot, link.Type);
            return flat;
        }

        // An unlinked instance input that carries a widget: its value as a Primitive feeding the inner inputs.
        private string? WidgetOf(Instance instance, string name)
        {
            var inputs = (instance.Node["inputs"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            var widgets = inputs.Where(i => i["widget"] is JsonObject).ToList();
            var values = instance.Node["widgets_values"] as JsonArray;
            var proxied = Proxied(instance);
            var index = proxied.Count > 0 ? proxied.FindIndex(p => p.Inner == "-1" && p.Widget == name) : widgets.FindIndex(i => Text(i["name"]) == name);
            if (index < 0 || values is null || index >= values.Count) return null;
            return Primitive(instance, values[index]);
        }

        // proxyWidgets promote inner widgets to the instance: their values (in that order) replace the inner node's.
        private void Promote(Instance instance, string innerId, JsonObject copy)
        {
            var values = instance.Node["widgets_values"] as JsonArray;
            var proxied = Proxied(instance);
            for (var k = 0; k < proxied.Count && values is not null && k < values.Count; k++)
            {
                if (proxied[k].Inner != innerId) continue;
                var inputs = copy["inputs"] as JsonArray ?? [];
                copy["inputs"] = inputs;
                var input = inputs.OfType<JsonObject>().FirstOrDefault(i => Text(i["name"]) == proxied[k].Widget);
                if (input is null)
                {
                    input = new JsonObject { ["name"] = proxied[k].Widget, ["widget"] = new JsonObject { ["name"] = proxied[k].Widget } };
                    inputs.Add(input);
                }

                input["link"] = Primitive(instance, values[k]);
            }
        }

        // A PrimitiveNode holding value, and a link from it; returns the link's id.
        private string Primitive(Instance instance, JsonNode? value)
        {
            var id = $"{instance.Prefix}promoted-{++primitives}";
            Nodes.Add(new JsonObject { ["id"] = id, ["type"] = "PrimitiveNode", ["mode"] = 0, ["widgets_values"] = new JsonArray(value?.DeepClone()) });
            Links[id] = (id, 0, "", 0, "");
            return id;
        }

        private static List<(string Inner, string Widget)> Proxied(Instance instance) =>
            ((instance.Node["properties"] as JsonObject)?["proxyWidgets"] as JsonArray ?? []).OfType<JsonArray>().Where(p => p.Count >= 2 && p[0] is not null && p[1] is not null)
                .Select(p => (Id(p[0]!), Text(p[1]))).ToList();
    }

    private static (double X, double Y) Place(JsonObject node, Graph inner, Instance? parent)
    {
        var (px, py) = parent?.Offset ?? (0, 0);
        var at = node["pos"] as JsonArray;
        var positions = inner.Nodes.Select(n => n["pos"] as JsonArray).Where(p => p is { Count: >= 2 })
            .Select(p => (X: JsonNumbers.Number(p![0]) ?? 0, Y: JsonNumbers.Number(p[1]) ?? 0)).ToList();
        if (at is not { Count: >= 2 } || positions.Count == 0) return (px, py);
        return (px + (JsonNumbers.Number(at[0]) ?? 0) - positions.Min(p => p.X), py + (JsonNumbers.Number(at[1]) ?? 0) - positions.Min(p => p.Y));
    }

    // Whether a node is an instance this inlining expands: a muted or bypassed one stays, and runs nothing or passes its
    // inputs on as any bypassed node.
    private static bool Expands(JsonObject node, Dictionary<string, JsonObject> definitions, out JsonObject definition) =>
        definitions.TryGetValue(Text(node["type"]), out definition!) && JsonNumbers.Integer(node["mode"]) is not (2 or 4);
}
