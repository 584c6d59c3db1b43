using System.Text.Json;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Running;

/// <summary>A run's input values (the JSON a saved PNG carries) written back as the workflow inputs' defaults.</summary>
public static class RunInputs
{
    /// <summary><paramref name="workflow"/> with each input named in <paramref name="json"/> defaulting to that value; unreadable JSON changes nothing.</summary>
    public static Workflow Apply(Workflow workflow, string json)
    {
        Dictionary<string, JsonElement>? values;
        try
        {
            values = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json);
        }
        catch (JsonException)
        {
            return workflow;
        }
        if (values is null) return workflow;
        return workflow with
        {
            Inputs = workflow.Inputs.Select(i => values.TryGetValue(i.Name, out var v) && Convert(v, i.Type) is { } value ? i with { Default = value } : i).ToList(),
        };
    }

    private static object? Convert(JsonElement value, ParameterValueType type) => (type, value.ValueKind) switch
    {
        (ParameterValueType.String, JsonValueKind.String) => value.GetString(),
        (ParameterValueType.Integer, JsonValueKind.Number) => value.TryGetInt64(out var l) ? l : null,
        (ParameterValueType.Number, JsonValueKind.Number) => value.GetDouble(),
        (ParameterValueType.Boolean, JsonValueKind.True or JsonValueKind.False) => value.GetBoolean(),
        (ParameterValueType.NumberList, JsonValueKind.Array) => value.EnumerateArray().Select(e => (object?)e.GetDouble()).ToList(),
        (ParameterValueType.StringList, JsonValueKind.Array) => value.EnumerateArray().Select(e => (object?)e.GetString()).ToList(),
        _ => null,
    };
}
