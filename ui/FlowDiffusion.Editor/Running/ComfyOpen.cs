using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Editor.Running;

/// <summary>
/// A ComfyUI file opened in the editor — UI-format JSON, API-format JSON, or a ComfyUI PNG with its <c>prompt</c> and
/// <c>workflow</c> text chunks — converted by the ComfyUI layer's own import (the one <c>/api/comfy/import</c> and
/// <c>flowdiffusion import-comfy</c> use), with the node positions it saved.
/// </summary>
/// <param name="Workflow">The converted workflow, or null when it does not convert.</param>
/// <param name="IsComfy">Whether the file is a ComfyUI workflow at all (so the editor can say why it was not opened).</param>
/// <param name="Problems">Why it did not convert: every ComfyUI node that could not be converted, with its id and class.</param>
/// <param name="Warnings">What converted but could not be checked (a checkpoint or image not found here).</param>
public sealed record ComfyOpen(Workflow? Workflow, bool IsComfy, IReadOnlyList<string> Problems, IReadOnlyList<string> Warnings)
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Converts <paramref name="bytes"/> from a file called <paramref name="fileName"/>.</summary>
    /// <param name="bytes">The file's content.</param>
    /// <param name="fileName">The file's name; the workflow is named after it when that is a valid workflow name.</param>
    /// <param name="folders">Where checkpoint and image names resolve.</param>
    public static ComfyOpen Read(byte[] bytes, string fileName, ComfyFolders folders)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var stem = Path.GetFileNameWithoutExtension(fileName);
        var name = EditorFiles.IsValidName(stem) ? stem : "comfyui";
        var png = bytes.AsSpan().StartsWith(PngSignature);
        if (!png && !LooksLikeComfyJson(bytes)) return new ComfyOpen(null, false, [], []);
        var (conversion, problems) = ComfyWorkflowImport.Import(bytes, name, folders);
        if (conversion?.Workflow is { } workflow && problems.Count == 0) return new ComfyOpen(workflow, true, [], conversion.Warnings);
        // A PNG without ComfyUI's chunks is a plain picture, not a ComfyUI workflow that failed.
        var isComfy = !png || !problems.Any(p => p.Contains("no ComfyUI", StringComparison.Ordinal));
        return new ComfyOpen(null, isComfy, problems, []);
    }

    /// <summary>
    /// Whether JSON text has ComfyUI's shape: the editor's (<c>nodes</c> and <c>links</c> arrays), a <c>{ "prompt": … }</c>
    /// request, or the API format (node ids mapping to objects with a <c>class_type</c>).
    /// </summary>
    public static bool LooksLikeComfyJson(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes).TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        if (!text.StartsWith('{')) return false;
        try
        {
            if (JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) is not JsonObject root) return false;
            if (root["nodes"] is JsonArray && root["links"] is JsonArray) return true;
            var prompt = root["prompt"] as JsonObject ?? root;
            return prompt.Count > 0 && prompt.Any(p => p.Value is JsonObject node && node.ContainsKey("class_type"));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The notice for a file that did not open, naming what could not be converted (the first few, then a count).</summary>
    public string NotOpened(string fileName)
    {
        const int shown = 4;
        var list = string.Join("; ", Problems.Take(shown)) + (Problems.Count > shown ? $"; and {Problems.Count - shown} more" : "");
        return $"Not opened: {fileName} is a ComfyUI workflow FlowDiffusion cannot convert ({list}). The graph is unchanged.";
    }

    /// <summary>The notice for a file that opened: how many nodes, and what could not be checked.</summary>
    public string Opened(string fileName) =>
        $"Opened the ComfyUI workflow from {fileName} ({Workflow?.Nodes.Count ?? 0} nodes)" +
        (Warnings.Count == 0 ? "." : $"; not found here: {string.Join("; ", Warnings)}.");
}
