using System.Text.Json;

namespace FlowDiffusion.Server.Runs;

/// <summary>Workflow input values from a JSON object, as the validator takes them (long, double, bool, string, lists).</summary>
public static class InputValues
{
    /// <summary>Reads a JSON object of input values; empty text or null means none.</summary>
    public static Dictionary<string, object?> FromJson(string? json)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(json)) return values;
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object) return values;
        foreach (var property in document.RootElement.EnumerateObject()) values[property.Name] = Value(property.Value);
        return values;
    }

    private static object? Value(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        // The cast keeps whole numbers long: a bare conditional would widen both branches to double.
        JsonValueKind.Number => element.TryGetInt64(out var whole) ? (object)whole : element.GetDouble(),
        JsonValueKind.Array => element.EnumerateArray().Select(Value).ToList(),
        // Objects have no input type; passing the raw text lets the validator report the mismatch.
        JsonValueKind.Object => element.GetRawText(),
        _ => null,
    };
}
