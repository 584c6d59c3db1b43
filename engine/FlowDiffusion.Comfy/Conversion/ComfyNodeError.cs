using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>One validation error of a ComfyUI node, in the shape ComfyUI's <c>node_errors</c> entries carry.</summary>
/// <param name="Type">ComfyUI's error type, e.g. <c>value_not_in_list</c>, <c>required_input_missing</c>.</param>
/// <param name="Message">The short message.</param>
/// <param name="Details">What exactly is wrong, naming the input and value.</param>
/// <param name="InputName">The input it concerns, or null.</param>
public sealed record ComfyNodeError(string Type, string Message, string Details, string? InputName = null)
{
    /// <summary>The error as ComfyUI serialises it.</summary>
    public JsonObject ToJson()
    {
        var extra = new JsonObject();
        if (InputName is not null) extra["input_name"] = InputName;
        return new JsonObject { ["type"] = Type, ["message"] = Message, ["details"] = Details, ["extra_info"] = extra };
    }
}
