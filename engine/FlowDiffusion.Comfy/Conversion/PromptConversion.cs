using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// The result of converting a ComfyUI API-format prompt: the workflow, or ComfyUI's error (a top-level one, or errors
/// per node); plus the map from our node ids back to ComfyUI's, which the socket and history speak.
/// </summary>
public sealed record PromptConversion
{
    /// <summary>The converted workflow; null when there are errors.</summary>
    public Workflow? Workflow { get; init; }

    /// <summary>A prompt-level error (ComfyUI's <c>error</c> object), or null.</summary>
    public ComfyNodeError? Error { get; init; }

    /// <summary>Errors per ComfyUI node id, with that node's class_type.</summary>
    public IReadOnlyDictionary<string, (string ClassType, IReadOnlyList<ComfyNodeError> Errors)> NodeErrors { get; init; } =
        new Dictionary<string, (string, IReadOnlyList<ComfyNodeError>)>();

    /// <summary>The ComfyUI ids of the output nodes (SaveImage, PreviewImage) that were converted.</summary>
    public IReadOnlyList<string> OutputNodes { get; init; } = [];

    /// <summary>For each of our node ids, the ComfyUI node it was made for.</summary>
    public IReadOnlyDictionary<string, string> ComfyIdOf { get; init; } = new Dictionary<string, string>();

    /// <summary>For each output node, ComfyUI's folder type of its images: <c>output</c> (SaveImage) or <c>temp</c> (PreviewImage).</summary>
    public IReadOnlyDictionary<string, string> OutputTypes { get; init; } = new Dictionary<string, string>();

    /// <summary>The text UI outputs settled at conversion (PreviewAny's <c>ui.text</c>), by ComfyUI node id.</summary>
    public IReadOnlyDictionary<string, string> TextOutputs { get; init; } = new Dictionary<string, string>();

    /// <summary>The class_type of every ComfyUI node, by id.</summary>
    public IReadOnlyDictionary<string, string> ClassTypes { get; init; } = new Dictionary<string, string>();

    /// <summary>What an import kept as written without being able to check it (missing model folders, images).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Whether the prompt converted cleanly.</summary>
    public bool IsValid => Workflow is not null && Error is null && NodeErrors.Count == 0;

    /// <summary>ComfyUI's 400 body: <c>{ error, node_errors }</c>.</summary>
    public JsonObject ErrorJson()
    {
        var error = Error ?? new ComfyNodeError("prompt_outputs_failed_validation", "Prompt outputs failed validation", "");
        var nodes = new JsonObject();
        foreach (var (id, (classType, errors)) in NodeErrors)
        {
            nodes[id] = new JsonObject
            {
                ["errors"] = new JsonArray(errors.Select(e => (JsonNode)e.ToJson()).ToArray()),
                ["dependent_outputs"] = new JsonArray(OutputNodes.Select(o => (JsonNode)JsonValue.Create(o)).ToArray()),
                ["class_type"] = classType,
            };
        }

        return new JsonObject { ["error"] = error.ToJson(), ["node_errors"] = nodes };
    }
}
