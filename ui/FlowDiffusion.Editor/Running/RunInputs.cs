using System.Text.Json;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Running;

/// <summary>A run's input values (the JSON a saved PNG carries) written back as the workflow inputs' defaults.</summary>
public static class RunInputs
{
    /// <summary>
    /// <paramref name="workflow"/> with each input named in <paramref name="json"/> defaulting to that value, read and
    /// converted as the API and the validator do (<see cref="InputValues"/>); values that do not fit the input, and
    /// unreadable JSON, change nothing.
    /// </summary>
    public static Workflow Apply(Workflow workflow, string json)
    {
        Dictionary<string, object?> values;
        try
        {
            values = InputValues.FromJson(json);
        }
        catch (JsonException)
        {
            return workflow;
        }
        return workflow with
        {
            Inputs = workflow.Inputs.Select(i => values.TryGetValue(i.Name, out var raw) && raw is not null &&
                InputValues.TryConvert(i, raw, out var value) is null ? i with { Default = Shown(i.Type, value) } : i).ToList(),
        };
    }

    // A number input shows a number as a number (5 → 5.0 for a float input), as the form edits it.
    private static object? Shown(ParameterValueType type, object? value) => (type, value) switch
    {
        (ParameterValueType.Number, long whole) => (double)whole,
        (ParameterValueType.NumberList, IEnumerable<object?> list) => list.Select(v => v is long whole ? (object?)(double)whole : v).ToList(),
        _ => value,
    };
}
