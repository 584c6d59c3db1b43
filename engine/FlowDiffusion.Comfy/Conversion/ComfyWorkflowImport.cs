using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// Opens a ComfyUI workflow file — API-format JSON, the editor's UI-format JSON, or a ComfyUI PNG (its <c>prompt</c> and
/// <c>workflow</c> text chunks) — as a FlowDiffusion workflow, reporting every node it cannot convert.
/// </summary>
public static class ComfyWorkflowImport
{
    /// <summary>The largest file read.</summary>
    public const int MaxBytes = 64 << 20;

    /// <summary>Converts a file's bytes; the problems list is empty when the workflow converted.</summary>
    /// <param name="bytes">The file content.</param>
    /// <param name="name">The workflow's name (e.g. the file name without extension).</param>
    /// <param name="folders">Where checkpoint and image names resolve (unresolved ones are kept and warned about).</param>
    public static (PromptConversion? Conversion, IReadOnlyList<string> Problems) Import(byte[] bytes, string name, ComfyFolders folders)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length > MaxBytes) return (null, [$"the file is larger than {MaxBytes} bytes"]);
        JsonNode? api = null, ui = null;
        try
        {
            if (PngTextChunks.IsPng(bytes))
            {
                var texts = PngTextChunks.Read(bytes);
                if (texts.TryGetValue("prompt", out var prompt)) api = Parse(prompt);
                if (texts.TryGetValue("workflow", out var workflow)) ui = Parse(workflow);
                if (api is null && ui is null) return (null, ["the PNG has no ComfyUI 'prompt' or 'workflow' text chunk"]);
            }
            else
            {
                var root = Parse(Encoding.UTF8.GetString(bytes));
                if (root is JsonObject o && o["nodes"] is JsonArray) ui = root;
                else api = root is JsonObject { } withPrompt && withPrompt["prompt"] is JsonObject inner ? inner : root;
            }
        }
        catch (JsonException e)
        {
            return (null, [$"not JSON: {e.Message}"]);
        }

        Dictionary<string, Engine.Workflows.NodePosition>? positions = null;
        ComfyCanvas? canvas = null;
        if (ui is JsonObject uiWorkflow)
        {
            List<string> problems;
            JsonObject converted;
            Dictionary<string, Engine.Workflows.NodePosition> uiPositions;
            ComfyCanvas uiCanvas;
            try
            {
                (converted, uiPositions, uiCanvas, problems) = UiWorkflowConverter.Convert(uiWorkflow, folders);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
            {
                return (null, [$"the workflow JSON is not in ComfyUI's editor format: {e.Message}"]);
            }

            if (problems.Count > 0) return (null, problems);
            api ??= converted; // a PNG's API prompt is exact; the UI graph gives positions and what the canvas draws
            positions = uiPositions;
            canvas = uiCanvas;
        }

        var conversion = ApiPromptConverter.Convert(api, folders, name, positions, requireFiles: false, fileMetadata: false);
        if (conversion.IsValid)
            return (canvas is null || conversion.Workflow is null ? conversion : conversion with { Workflow = canvas.Apply(conversion.Workflow, conversion.ComfyIdOf) }, []);
        var list = new List<string>();
        if (conversion.Error is { } error) list.Add($"{error.Message}: {error.Details}");
        foreach (var (id, (classType, errors)) in conversion.NodeErrors)
            list.AddRange(errors.Select(e => $"node {id} ({classType}): {e.Details}"));
        return (conversion, list);
    }

    private static JsonNode? Parse(string text) => JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
}
