using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>Reads a JSON number whatever CLR type backs the node (parsed text, or a value a caller built).</summary>
internal static class JsonNumbers
{
    public static double? Number(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number
        && double.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
            ? number : null;

    public static long? Integer(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number
        && long.TryParse(value.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)
            ? integer
            : Number(node) is { } number && number == Math.Floor(number) && Math.Abs(number) < 9.2e18 ? (long)number : null;
}
