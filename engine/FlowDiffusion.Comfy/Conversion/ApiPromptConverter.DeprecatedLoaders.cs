using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's deprecated loaders of nodes.py: DiffusersLoader (a diffusers folder under models/diffusers) → model.load of
/// the folder, as CheckpointLoaderSimple loads a model folder.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // DiffusersLoader → model.load of the folder (its PyTorch weights converted once and cached, as model.load does).
    private ComfyValue[]? DiffusersLoader(string id, JsonObject inputs)
    {
        var name = Text(id, inputs, "model_path", null);
        if (name is null) return null;
        var path = folders.ResolveDiffusers(name);
        if (path is null && !requireFiles)
        {
            path = "models/diffusers/" + name;
            warnings.Add($"node {id} (DiffusersLoader): '{name}' is not a diffusers folder here yet; the workflow loads {path}");
        }

        if (path is null)
        {
            Error(id, "value_not_in_list", "Value not in list",
                $"model_path: '{name}' not in [{string.Join(", ", folders.Diffusers().Take(50).Select(a => $"'{a}'"))}] (folders holding model_index.json under models/diffusers)", "model_path");
            return null;
        }

        return LoadedCheckpoint(id, path);
    }
}
