using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests.OpenApi;

/// <summary>
/// Checks a JSON value against a schema of an OpenAPI document, for the subset of JSON Schema the document uses: type
/// (one or a list, "integer" meaning a whole number), nullable, properties, required, additionalProperties (false or a
/// schema), items, enum and local $ref. Annotations (description, format, title) are ignored; any other keyword is an
/// error, so a schema this checker cannot read fails instead of passing unchecked.
/// </summary>
internal sealed class JsonSchemaChecker(JsonNode document)
{
    private static readonly HashSet<string> Annotations = ["description", "format", "title", "example", "default"];

    /// <summary>Every way <paramref name="value"/> breaks <paramref name="schema"/>, each with its JSON path; empty when it conforms.</summary>
    public List<string> Check(JsonNode? value, JsonNode schema)
    {
        var errors = new List<string>();
        Check(value, schema, "$", errors);
        return errors;
    }

    private void Check(JsonNode? value, JsonNode schema, string path, List<string> errors)
    {
        var keywords = schema.AsObject();
        if (keywords["$ref"] is { } reference)
        {
            Check(value, Resolve(reference.GetValue<string>()), path, errors);
            return;
        }
        foreach (var (keyword, _) in keywords)
        {
            if (keyword is not ("type" or "nullable" or "properties" or "required" or "additionalProperties" or "items" or "enum") && !Annotations.Contains(keyword))
                throw new NotSupportedException($"{path}: the schema uses '{keyword}', which this checker does not read");
        }

        var kind = KindOf(value);
        if (kind == "null" && keywords["nullable"]?.GetValue<bool>() == true) return;
        if (keywords["type"] is { } type)
        {
            var allowed = type is JsonArray list ? list.Select(t => t!.GetValue<string>()).ToList() : [type.GetValue<string>()];
            if (!allowed.Any(t => t == kind || (t == "number" && kind == "integer")))
            {
                errors.Add($"{path}: {kind} where the schema wants {string.Join(" or ", allowed)}");
                return;
            }
        }
        if (keywords["enum"] is JsonArray values && !values.Any(v => JsonNode.DeepEquals(v, value)))
            errors.Add($"{path}: {value?.ToJsonString() ?? "null"} is not one of {values.ToJsonString()}");

        if (value is JsonObject obj)
        {
            var properties = keywords["properties"]?.AsObject();
            foreach (var required in keywords["required"]?.AsArray() ?? [])
            {
                if (!obj.ContainsKey(required!.GetValue<string>())) errors.Add($"{path}: required property '{required}' is missing");
            }
            foreach (var (name, item) in obj)
            {
                if (properties?[name] is { } property) Check(item, property, $"{path}.{name}", errors);
                else if (keywords["additionalProperties"] is { } additional)
                {
                    if (additional.GetValueKind() == JsonValueKind.False) errors.Add($"{path}: property '{name}' is not in the schema");
                    else if (additional.GetValueKind() == JsonValueKind.Object) Check(item, additional, $"{path}.{name}", errors);
                }
            }
        }
        if (value is JsonArray array && keywords["items"] is { } items)
        {
            for (var i = 0; i < array.Count; i++) Check(array[i], items, $"{path}[{i}]", errors);
        }
    }

    private JsonNode Resolve(string reference)
    {
        const string Prefix = "#/components/schemas/";
        if (!reference.StartsWith(Prefix, StringComparison.Ordinal)) throw new NotSupportedException($"$ref '{reference}' is not a local schema");
        return document["components"]?["schemas"]?[reference[Prefix.Length..]] ?? throw new KeyNotFoundException($"$ref '{reference}' names no schema of the document");
    }

    private static string KindOf(JsonNode? value) => value?.GetValueKind() switch
    {
        null or JsonValueKind.Null => "null",
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Number => value.ToJsonString().Any(c => c is '.' or 'e' or 'E') ? "number" : "integer",
        var other => other.ToString()!,
    };
}
