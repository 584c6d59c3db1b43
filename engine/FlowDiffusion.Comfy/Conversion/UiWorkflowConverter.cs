using System.Text.Json;
using System.Text.Json.Nodes;
using static FlowDiffusion.Comfy.Conversion.UiJson;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// Turns a workflow saved by ComfyUI's editor (nodes with positional <c>widgets_values</c>, a <c>links</c> array, groups,
/// Reroute and Primitive nodes, muted and bypassed nodes, subgraphs inlined by <see cref="SubgraphInlining"/>) into the API format, keeping each node's position and what the
/// canvas draws (groups, reroutes, colours, collapsed and pinned nodes).
/// </summary>
internal static class UiWorkflowConverter
{
    private const int Muted = 2;
    private const int Bypassed = 4;

    /// <summary>The API-format prompt, positions by node id, the canvas state, and the problems that stop conversion.</summary>
    public static (JsonObject Prompt, Dictionary<string, NodePosition> Positions, ComfyCanvas Canvas, List<string> Problems) Convert(JsonObject workflow, ComfyFolders folders)
    {
        var prompt = new JsonObject();
        var positions = new Dictionary<string, NodePosition>(StringComparer.Ordinal);
        var canvas = new ComfyCanvas();
        var problems = new List<string>();
        workflow = SubgraphInlining.Inline(workflow, problems);
        var nodes = (workflow["nodes"] as JsonArray ?? []).OfType<JsonObject>().Where(n => n["id"] is not null)
            .ToDictionary(n => Id(n["id"]!), StringComparer.Ordinal);
        var links = new Dictionary<string, (string Origin, int Slot)>(StringComparer.Ordinal);
        foreach (var link in (workflow["links"] as JsonArray ?? []).OfType<JsonArray>().Where(l => l.Count >= 5))
            links[Id(link[0]!)] = (Id(link[1]!), (int)(JsonNumbers.Integer(link[2]) ?? -1));
        // Schema 1 writes links as objects.
        foreach (var link in (workflow["links"] as JsonArray ?? []).OfType<JsonObject>().Where(l => l["id"] is not null && l["origin_id"] is not null))
            links[Id(link["id"]!)] = (Id(link["origin_id"]!), (int)(JsonNumbers.Integer(link["origin_slot"]) ?? -1));
        if (workflow["links"] is JsonArray { Count: > 0 } && links.Count == 0)
            problems.Add("the links array is not in ComfyUI's [id, origin, slot, target, slot, type] or {id, origin_id, origin_slot, …} form");

        canvas.ReadGroups(workflow);
        canvas.ReadNativeReroutes(workflow);

        foreach (var (id, node) in nodes)
        {
            var type = Text(node["type"]);
            var mode = JsonNumbers.Integer(node["mode"]) ?? 0;
            if (type == "Reroute") canvas.ReadReroute(id, node);
            if (mode is Muted or Bypassed || type is "Reroute" or "PrimitiveNode" or "Note" or "MarkdownNote") continue;
            if (ObjectInfo.Describe(type, folders) is not { } info)
            {
                problems.Add($"node {id}: ComfyUI class '{type}' has no FlowDiffusion mapping (mapped: {string.Join(", ", ApiPromptConverter.SupportedClasses)})");
                continue;
            }

            var inputs = new JsonObject();
            // Widgets in input order, the required inputs' then the optional ones' (comfyui_controlnet_aux's settings are all
            // optional); a seed is followed by its "control after generate" value, an upload combo by its button.
            var widgetValues = (node["widgets_values"] as JsonArray)?.ToList() ?? [];
            var position = 0;
            var ordered = new[] { "required", "optional" }.Where(group => info["input"]![group] is JsonObject)
                .SelectMany(group => info["input_order"]![group]!.AsArray().Select(n => (Name: n!.GetValue<string>(), Spec: info["input"]![group]![n!.GetValue<string>()]!.AsArray())));
            foreach (var (name, spec) in ordered)
            {
                var isWidget = spec[0] is JsonArray || spec[0]!.GetValue<string>() is "INT" or "FLOAT" or "STRING" or "BOOLEAN" or "COMBO";
                if (!isWidget) continue;
                if (position < widgetValues.Count) inputs[name] = widgetValues[position]?.DeepClone();
                position++;
                if (name is "seed" or "noise_seed" || (spec.Count > 1 && spec[1]?["image_upload"] is not null)) position++;
            }

            foreach (var input in (node["inputs"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var name = input["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : null;
                if (name is null || input["link"] is not JsonValue linkId || linkId.GetValueKind() == JsonValueKind.Null) continue;
                var passed = new List<string>();
                switch (Resolve(Id(linkId), links, nodes, canvas, problems, id, name, passed))
                {
                    case JsonArray source:
                        inputs[name] = source;
                        passed.Reverse();
                        canvas.ReadRoute(id, Id(source[0]!), passed);
                        break;
                    case JsonNode literal:
                        inputs[name] = literal;
                        break;
                }
            }

            prompt[id] = new JsonObject { ["class_type"] = type, ["inputs"] = inputs };
            var (x, y) = node["pos"] is JsonArray { Count: >= 2 } pos ? (JsonNumbers.Number(pos[0]), JsonNumbers.Number(pos[1]))
                : node["pos"] is JsonObject posObject ? (JsonNumbers.Number(posObject["0"]), JsonNumbers.Number(posObject["1"])) : (null, null);
            if (x is { } px && y is { } py) positions[id] = new NodePosition(px, py);
            canvas.ReadNode(id, node);
        }

        return (prompt, positions, canvas, problems);
    }

    /// <summary>
    /// Follows a link through Reroutes and bypassed nodes to its real source: an API link, or a Primitive's literal;
    /// <paramref name="passed"/> gets the Reroutes on the way (nodes and native ones), nearest the target first.
    /// </summary>
    private static JsonNode? Resolve(string linkId, Dictionary<string, (string Origin, int Slot)> links, Dictionary<string, JsonObject> nodes, ComfyCanvas canvas, List<string> problems, string target, string input, List<string> passed)
    {
        for (var hops = 0; hops < 1000; hops++)
        {
            if (!links.TryGetValue(linkId, out var link) || !nodes.TryGetValue(link.Origin, out var origin))
            {
                problems.Add($"node {target} input '{input}': link {linkId} leads nowhere");
                return null;
            }

            passed.AddRange(canvas.NativeRoute(linkId));
            var type = Text(origin["type"]);
            var mode = JsonNumbers.Integer(origin["mode"]) ?? 0;
            if (type == "PrimitiveNode") return (origin["widgets_values"] as JsonArray)?.FirstOrDefault()?.DeepClone();
            if (type == "Reroute" || mode == Bypassed)
            {
                if (type == "Reroute") passed.Add(link.Origin);
                // A bypassed node passes on its first input of the output's type (a Reroute has just one).
                var outputType = Text((origin["outputs"] as JsonArray)?.ElementAtOrDefault(link.Slot)?["type"]);
                var through = (origin["inputs"] as JsonArray ?? []).OfType<JsonObject>()
                    .FirstOrDefault(i => type == "Reroute" || Text(i["type"]) == outputType);
                if (through?["link"] is not JsonValue next || next.GetValueKind() == JsonValueKind.Null)
                {
                    problems.Add($"node {target} input '{input}': {(type == "Reroute" ? "a Reroute" : $"bypassed node {link.Origin}")} has nothing connected to pass on");
                    return null;
                }

                linkId = Id(next);
                continue;
            }

            if (mode == Muted)
            {
                problems.Add($"node {target} input '{input}': comes from muted node {link.Origin} ({type})");
                return null;
            }

            return new JsonArray(link.Origin, link.Slot);
        }

        problems.Add($"node {target} input '{input}': the links loop");
        return null;
    }
}
