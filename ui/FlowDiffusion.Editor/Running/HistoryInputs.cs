using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Running;

/// <summary>A run's input values (the JSON object the run store keeps) as one short line for the history panel.</summary>
public static class HistoryInputs
{
    /// <summary>The longest a text value is shown before it is cut with an ellipsis.</summary>
    public const int MaxText = 40;

    /// <summary>
    /// "seed 32 · steps 20 · prompt "a blue ball"" from <c>{"seed":32,"steps":20,"prompt":"a blue ball"}</c>, in the
    /// object's order; empty for null, an empty object or JSON that is no object.
    /// </summary>
    public static string Summary(string? inputsJson)
    {
        if (string.IsNullOrWhiteSpace(inputsJson)) return string.Empty;
        try
        {
            using var document = JsonDocument.Parse(inputsJson);
            if (document.RootElement.ValueKind != JsonValueKind.Object) return string.Empty;
            return string.Join(" · ", document.RootElement.EnumerateObject().Select(p => $"{p.Name} {Value(p.Value)}"));
        }
        catch (JsonException)
        {
            return string.Empty;
        }
    }

    /// <summary>
    /// The values a run used, as a JSON object in the workflow's input order: each input's default in the run's
    /// <paramref name="yaml"/> (the editor queues its values that way), replaced by the value in
    /// <paramref name="inputsJson"/> where the run was given one (the API and the CLI pass them so). Null when the YAML
    /// does not read.
    /// </summary>
    public static string? Effective(string yaml, string? inputsJson)
    {
        if (WorkflowYamlReader.Read(yaml).Workflow is not { } workflow) return null;
        if (!string.IsNullOrWhiteSpace(inputsJson)) workflow = RunInputs.Apply(workflow, inputsJson);
        var values = new JsonObject();
        foreach (var input in workflow.Inputs) values[input.Name] = JsonSerializer.SerializeToNode(input.Default);
        return values.ToJsonString();
    }

    private static string Value(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "\"" + Cut(value.GetString() ?? "") + "\"",
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        _ => Cut(value.GetRawText()),
    };

    private static string Cut(string text) => text.Length <= MaxText ? text : text[..(MaxText - 1)] + "…";
}
