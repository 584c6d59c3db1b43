using System.Globalization;
using System.Text.Json;
using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Engine.Workflows;

/// <summary>
/// Workflow input values, the one reader for every surface: a JSON object (the API body, a run record, a saved PNG's
/// parameters), <c>NAME=VALUE</c> assignments (the CLI's <c>--set</c>), and the conversion of a raw value to an input's
/// type (text parsed by the type; type and bounds checked) that the validator and the editor apply.
/// </summary>
public static class InputValues
{
    /// <summary>Reads <c>NAME=VALUE</c> assignments; values stay text, typed later by <see cref="TryConvert"/>.</summary>
    /// <exception cref="FormatException">An assignment has no name or no '='; the message shows the expected form.</exception>
    public static Dictionary<string, object?> FromAssignments(IEnumerable<string> assignments)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var assignment in assignments)
        {
            var split = assignment.IndexOf('=');
            if (split <= 0) throw new FormatException($"--set {assignment}: expected NAME=VALUE, e.g. --set seed=42");
            values[assignment[..split]] = assignment[(split + 1)..];
        }
        return values;
    }

    /// <summary>
    /// Converts <paramref name="raw"/> to a value of <paramref name="input"/>: text is parsed by the input's type, then
    /// type and bounds are checked. Returns null on success, otherwise what is wrong (without the input's name).
    /// </summary>
    public static string? TryConvert(WorkflowInput input, object? raw, out object? value)
    {
        value = raw;
        if (raw is string text && input.Type != ParameterValueType.String && Parse(input, text, out value) is { } parseError) return parseError;
        return Check(input, value);
    }

    /// <summary>Parses text as a value of <paramref name="input"/>'s type; null on success, otherwise what is wrong.</summary>
    public static string? Parse(WorkflowInput input, string text, out object? value) =>
        ParameterConverter.TryParseText(text, input.Type, out value) is { } error
            ? $"{error}; input '{input.Name}' is {ParameterConverter.Describe(input.Type)}"
            : null;

    /// <summary>Checks a typed value against <paramref name="input"/>'s type and bounds; null when it fits.</summary>
    public static string? Check(WorkflowInput input, object? value)
    {
        var typeOk = (input.Type, value) switch
        {
            (_, null) => true,
            (ParameterValueType.String, string) => true,
            (ParameterValueType.Boolean, bool) => true,
            (ParameterValueType.Integer, long or ulong or int) => true,
            (ParameterValueType.Number, long or ulong or int or double or float) => true,
            (ParameterValueType.NumberList or ParameterValueType.StringList, System.Collections.IEnumerable and not string) => true,
            _ => false,
        };
        if (!typeOk) return $"expected {ParameterConverter.Describe(input.Type)}, got {Show(value)}";
        return ParameterConverter.CheckBounds(value, input.Min ?? double.NaN, input.Max ?? double.NaN, input.Choices ?? []);
    }

    private static string Show(object? value) => value switch
    {
        string s => $"text '{s}'",
        null => "nothing",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

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
