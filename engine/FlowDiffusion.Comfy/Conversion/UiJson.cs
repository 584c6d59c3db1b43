using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>How the editor-format readers take text and ids out of a workflow file that may be damaged anywhere.</summary>
internal static class UiJson
{
    /// <summary>A JSON string's text; "" for anything else (missing, a number, an object).</summary>
    public static string Text(JsonNode? value) => value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : "";

    /// <summary>A node or link id as text (numbers as JSON writes them); a missing or null one is "", which matches nothing.</summary>
    public static string Id(JsonNode? value) => value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : value?.ToJsonString() ?? "";
}
