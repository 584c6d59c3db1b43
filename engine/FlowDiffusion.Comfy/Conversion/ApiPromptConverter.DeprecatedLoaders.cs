using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's deprecated loaders of nodes.py: DiffusersLoader (a diffusers folder under models/diffusers) and
/// CheckpointLoader (a checkpoint with an LDM inference config), each → model.load of the same file or folder
/// CheckpointLoaderSimple would load, with what the config changes.
/// </summary>
public sealed partial class ApiPromptConverter
{
    /// <summary>
    /// CheckpointLoader's configs: the names ComfyUI ships in models/configs, with what ComfyUI's load_checkpoint takes from
    /// each — <c>parameterization: "v"</c> (a discrete v-prediction model) and the text encoder's <c>layer_idx</c> (CLIP skip).
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, (bool VPrediction, int? LayerIdx)> CheckpointConfigs = new Dictionary<string, (bool, int?)>(StringComparer.Ordinal)
    {
        ["anything_v3.yaml"] = (false, -2),
        ["v1-inference.yaml"] = (false, null),
        ["v1-inference_clip_skip_2.yaml"] = (false, -2),
        ["v1-inference_clip_skip_2_fp16.yaml"] = (false, -2),
        ["v1-inference_fp16.yaml"] = (false, null),
        ["v1-inpainting-inference.yaml"] = (false, null),
        ["v2-inference-v.yaml"] = (true, null),
        ["v2-inference-v_fp32.yaml"] = (true, null),
        ["v2-inference.yaml"] = (false, null),
        ["v2-inference_fp32.yaml"] = (false, null),
        ["v2-inpainting-inference.yaml"] = (false, null),
    };

    // DiffusersLoader → model.load of the folder (its PyTorch weights converted once and cached, as model.load does).
    private ComfyValue[]? DiffusersLoader(string id, JsonObject inputs)
    {
        var name = Text(id, inputs, "model_path", null);
        if (name is null) return null;
        var path = folders.ResolveDiffusers(name);
        path ??= NotHereYet(id, "DiffusersLoader", name, "diffusers", "a diffusers folder");

        if (path is null)
        {
            Error(id, "value_not_in_list", "Value not in list",
                $"model_path: '{name}' not in [{string.Join(", ", folders.Diffusers().Take(50).Select(a => $"'{a}'"))}] (folders holding model_index.json under models/diffusers)", "model_path");
            return null;
        }

        return LoadedCheckpoint(id, path);
    }

    // CheckpointLoader → CheckpointLoaderSimple's model.load, then, as ComfyUI's load_checkpoint applies the config: a
    // v-parameterized config makes the model a discrete v-prediction one (ModelSamplingDiscrete's model.sampling), and a
    // layer_idx sets the CLIP's last layer (CLIPSetLastLayer). Other settings of the yaml are read from the weights, as
    // ComfyUI reads them; configs other than ComfyUI's shipped ones are refused (their content is not read here).
    private ComfyValue[]? CheckpointLoaderWithConfig(string id, JsonObject inputs)
    {
        var config = Text(id, inputs, "config_name", null);
        if (config is null) return null;
        if (!CheckpointConfigs.TryGetValue(config, out var settings))
        {
            Error(id, "value_not_in_list", "Value not in list",
                $"config_name: '{config}' not in [{string.Join(", ", CheckpointConfigs.Keys.Select(c => $"'{c}'"))}] (FlowDiffusion honours ComfyUI's shipped configs only; CheckpointLoaderSimple reads the rest from the weights)",
                "config_name");
            return null;
        }

        if (CheckpointLoader(id, inputs) is not [ModelValue model, ClipValue clip, VaeValue vae]) return null;
        if (settings.VPrediction)
        {
            var sampling = Add(id, "sampling", "model.sampling", [("config", model.SchedulerConfig)], [("prediction_type", "v_prediction"), ("zero_snr", false)]);
            model = model with { SchedulerConfig = $"{sampling}.result" };
        }

        if (settings.LayerIdx is { } layer) clip = clip with { ClipSkip = ClipSkipAt(clip, layer) };
        return [model, clip, vae];
    }
}
