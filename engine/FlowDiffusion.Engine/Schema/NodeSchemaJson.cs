using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Engine.Schema;

/// <summary>The node schema as JSON: what <c>flowdiffusion nodes --json</c> prints and <c>GET /api/nodes</c> serves.</summary>
public static class NodeSchemaJson
{
    /// <summary>Every node type of the catalog, in catalog order.</summary>
    public static JsonObject Write(NodeCatalog catalog) =>
        new() { ["nodes"] = new JsonArray(catalog.All.Select(n => (JsonNode)Node(n)).ToArray()) };

    /// <summary>One node type.</summary>
    public static JsonObject Node(NodeDescriptor node) => new()
    {
        ["id"] = node.Id,
        ["version"] = node.Version,
        ["title"] = node.Title,
        ["category"] = node.Category,
        ["description"] = node.Description,
        ["deterministic"] = node.Deterministic,
        ["output_node"] = node.IsOutput,
        ["plugin"] = node.Plugin,
        ["inputs"] = new JsonArray(node.Inputs.Select(p => (JsonNode)new JsonObject
        {
            ["name"] = p.Name,
            ["type"] = p.Type.Name,
            ["color"] = p.Type.Color,
            ["optional"] = p.Optional,
            ["description"] = p.Description,
        }).ToArray()),
        ["outputs"] = new JsonArray(node.Outputs.Select(p => (JsonNode)new JsonObject
        {
            ["name"] = p.Name,
            ["type"] = p.Type.Name,
            ["color"] = p.Type.Color,
            ["description"] = p.Description,
        }).ToArray()),
        ["parameters"] = new JsonArray(node.Parameters.Select(p => (JsonNode)Parameter(p)).ToArray()),
    };

    private static JsonObject Parameter(ParameterDescriptor p)
    {
        var json = new JsonObject
        {
            ["name"] = p.Name,
            ["type"] = ValueTypes.Name(p.ValueType),
            ["default"] = Value(p.Default),
            ["description"] = p.Description,
        };
        if (p.HasMin) json["min"] = p.Min;
        if (p.HasMax) json["max"] = p.Max;
        if (!double.IsNaN(p.Step)) json["step"] = p.Step;
        if (p.Choices.Count > 0) json["choices"] = new JsonArray(p.Choices.Select(c => (JsonNode)JsonValue.Create(c)).ToArray());
        if (p.Multiline) json["multiline"] = true;
        if (p.Required) json["required"] = true;
        if (p.Kind != ParameterKind.Default) json["kind"] = SnakeCase.From(p.Kind.ToString());
        if (p.Advanced) json["advanced"] = true;
        return json;
    }

    /// <summary>A parameter value as JSON.</summary>
    public static JsonNode? Value(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        ulong u => JsonValue.Create(u),
        float f => JsonValue.Create(f),
        double d => JsonValue.Create(d),
        System.Collections.IEnumerable items => new JsonArray(items.Cast<object?>().Select(Value).ToArray()),
        _ => JsonValue.Create(value.ToString()),
    };
}
