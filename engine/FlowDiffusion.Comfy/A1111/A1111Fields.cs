using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// Reads one field of an A1111 request body as A1111's pydantic models take it: a number also as a numeric string, a
/// missing or null field as absent (null); anything else is refused naming the field (422).
/// </summary>
internal static class A1111Fields
{
    /// <summary>A string field, or null when absent.</summary>
    public static string? Text(JsonNode? node, string field) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw new A1111RequestException(422, field, "must be a string"),
    };

    /// <summary>An integer field within [<paramref name="min"/>, <paramref name="max"/>], or null when absent.</summary>
    public static long? Integer(JsonNode? node, string field, long min, long max)
    {
        if (node is null) return null;
        var value = JsonNumbers.Integer(node)
                    ?? (node is JsonValue s && s.GetValueKind() == JsonValueKind.String && long.TryParse(s.GetValue<string>(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) ? parsed : (long?)null)
                    ?? throw new A1111RequestException(422, field, $"must be an integer, not {node.ToJsonString()}");
        return value >= min && value <= max ? value : throw new A1111RequestException(422, field, $"{value} is out of range {min}–{max}");
    }

    /// <summary>A finite number field within [<paramref name="min"/>, <paramref name="max"/>], or null when absent.</summary>
    public static double? Number(JsonNode? node, string field, double min, double max)
    {
        if (node is null) return null;
        var value = (JsonNumbers.Number(node) is { } n && double.IsFinite(n) ? n : (double?)null)
                    ?? (node is JsonValue s && s.GetValueKind() == JsonValueKind.String && double.TryParse(s.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed) ? parsed : (double?)null)
                    ?? throw new A1111RequestException(422, field, $"must be a number, not {node.ToJsonString()}");
        return value >= min && value <= max ? value
            : throw new A1111RequestException(422, field, $"{value.ToString(CultureInfo.InvariantCulture)} is out of range {min.ToString(CultureInfo.InvariantCulture)}–{max.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>A boolean field, or null when absent.</summary>
    public static bool? Flag(JsonNode? node, string field) => node?.GetValueKind() switch
    {
        null => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new A1111RequestException(422, field, "must be true or false"),
    };
}
