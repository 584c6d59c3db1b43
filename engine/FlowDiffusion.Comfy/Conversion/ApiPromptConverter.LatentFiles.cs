using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

// SaveLatent and LoadLatent: ComfyUI's .latent files through latent.save and latent.load.
public sealed partial class ApiPromptConverter
{
    /// <summary>
    /// The most characters of ComfyUI metadata (the prompt and extra_pnginfo JSON, the UI workflow) the save nodes of one
    /// prompt carry together: each of n nodes that write it (SaveImage, PreviewImage, SaveLatent, …) gets a 1/n share.
    /// </summary>
    public const int MaxMetadataCharacters = 256 * 1024;

    // The classes whose files carry ComfyUI's metadata.
    private static readonly HashSet<string> MetadataClasses = ["SaveImage", "PreviewImage", "MaskPreview", "SaveAnimatedWEBP", "SaveAnimatedPNG",
        "SaveLatent", "CheckpointSave", "ModelSave", "VAESave", "CLIPSave"];

    private string? comfyMetadata;

    // SaveLatent → latent.save, its filename_prefix as SaveTarget reads it and the file's metadata ComfyUI's (ComfyMetadata).
    private ComfyValue[]? SaveLatent(string id, JsonObject inputs)
    {
        var samples = Link<LatentValue>(id, inputs, "samples");
        var prefix = Text(id, inputs, "filename_prefix", "latents/ComfyUI");
        if (samples is null || SaveTarget(id, prefix) is not { } target) return null;
        var vae = NearestVae(id);
        var node = Add(id, null, "latent.save", vae is null ? [("samples", samples.Latent)] : [("samples", samples.Latent), ("vae", vae.Vae)],
            [("prefix", target.Prefix), ("folder", target.Folder), ("metadata", ComfyMetadata())]);
        outputTypes[id] = "output";
        return [];
    }

    // A save node's filename_prefix as our prefix and folder: ComfyUI's prefix may name folders ("latents/ComfyUI"), which
    // become the folder inside the run's output folder, each name made plain as SaveImage's prefix is; ".." is refused, as
    // ComfyUI refuses saving outside its output folder.
    private (string Prefix, string Folder)? SaveTarget(string id, string? prefix)
    {
        if (prefix is null) return null;
        var parts = prefix.Replace('\\', '/').Split('/');
        if (parts.Any(p => p == "..") || parts.Length > 9)
        {
            Error(id, "value_not_valid", "Invalid filename_prefix",
                $"filename_prefix: '{prefix}' would save outside the output folder or too deep; use at most 8 folders, without '..'", "filename_prefix");
            return null;
        }

        return (PlainName(parts[^1]), string.Join('/', parts[..^1].Where(p => p is not ("" or ".")).Select(PlainName)));
    }

    // ComfyUI's metadata of a saved file: the prompt and each extra_pnginfo entry as Python's json.dumps writes them. The
    // texts travel as a parameter of every save node inside the run's workflow document, which is bounded: entries that
    // would take one node's metadata past its share of MaxMetadataCharacters are left out (the prompt first, then
    // extra_pnginfo's in order). Built once per prompt; empty (none) for an imported file.
    private string ComfyMetadata() => comfyMetadata ??= fileMetadata ? BuildComfyMetadata() : "";

    private string BuildComfyMetadata()
    {
        var writers = prompt.Count(p => p.Value is JsonObject node && node["class_type"] is JsonValue type && type.TryGetValue<string>(out var name)
            && MetadataClasses.Contains(name));
        var metadata = new JsonObject();
        var room = MaxMetadataCharacters / Math.Max(1, writers);
        foreach (var (key, value) in new[] { new KeyValuePair<string, JsonNode?>("prompt", prompt) }.Concat(extraPngInfo ?? []))
        {
            var text = PythonJson.Dumps(value);
            if (text.Length > room) continue;
            metadata[key] = text;
            room -= text.Length;
        }

        return metadata.ToJsonString();
    }

    // LoadLatent → latent.load of a file in the input folder ("name.latent", "sub/name.latent", or annotated " [input]").
    private ComfyValue[]? LoadLatent(string id, JsonObject inputs)
    {
        var name = Text(id, inputs, "latent", null);
        if (name is null) return null;
        var bare = name.EndsWith(" [input]", StringComparison.Ordinal) ? name[..^8] : name;
        var file = folders.ResolveInput(bare);
        if (file is null && !requireFiles)
        {
            warnings.Add($"node {id} (LoadLatent): '{bare}' is not in the input folder yet; the workflow reads it as a path");
            file = bare;
        }

        if (file is null)
        {
            Error(id, "custom_validation_failed", "Custom validation failed for node", $"latent - Invalid latent file: {name}", "latent");
            return null;
        }

        var vae = NearestVae(id);
        var node = Add(id, null, "latent.load", vae is null ? [] : [("vae", vae.Vae)], [("path", file)]);
        return [new LatentValue($"{node}.latent", null)];
    }

    // ComfyUI's LATENT is unscaled and ours carries the VAE's scaling factor, which a latent alone does not tell: the
    // factor is the one of the VAE nearest to the node in the prompt's graph (following links both ways: a checkpoint's
    // or VAELoader's VAE, or the vae input of a VAE node), or latent.save/load's SD 1.x default when it has none.
    private VaeValue? NearestVae(string start)
    {
        var neighbours = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Join(string a, string b)
        {
            if (!neighbours.TryGetValue(a, out var list)) neighbours[a] = list = [];
            list.Add(b);
        }

        foreach (var (id, node) in prompt)
        {
            if (node?["inputs"] is not JsonObject nodeInputs) continue;
            foreach (var (_, value) in nodeInputs)
            {
                if (value is JsonArray { Count: 2 } link && link[0] is JsonValue source && SourceId(source) is { } sourceId && prompt.ContainsKey(sourceId))
                {
                    Join(id, sourceId);
                    Join(sourceId, id);
                }
            }
        }

        var seen = new HashSet<string>(StringComparer.Ordinal) { start };
        var queue = new Queue<string>([start]);
        while (queue.TryDequeue(out var id))
        {
            if (id != start && VaeLinkOf(id) is { } link) return Link<VaeValue>(start, new JsonObject { ["vae"] = link }, "vae");
            foreach (var next in neighbours.GetValueOrDefault(id) ?? [])
            {
                if (seen.Add(next)) queue.Enqueue(next);
            }
        }

        return null;
    }

    private JsonArray? VaeLinkOf(string id) => (string?)prompt[id]?["class_type"] switch
    {
        "CheckpointLoaderSimple" => [id, 2],
        "VAELoader" => [id, 0],
        _ => prompt[id]?["inputs"] is JsonObject inputs && inputs["vae"] is JsonArray { Count: 2 } link ? (JsonArray)link.DeepClone() : null,
    };

    private static string? SourceId(JsonValue source) => source.GetValueKind() switch
    {
        JsonValueKind.String => source.GetValue<string>(),
        JsonValueKind.Number => source.ToJsonString(),
        _ => null,
    };

    // ComfyUI's names hold folders and any characters; ours are plain names inside the run's folder (SaveImage's rule).
    private static string PlainName(string name)
    {
        var plain = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
        return plain.Length == 0 ? "ComfyUI" : plain[..Math.Min(plain.Length, 100)];
    }
}
