using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

// CheckpointSave: ComfyUI's single-file checkpoint through model.save.
public sealed partial class ApiPromptConverter
{
    // CheckpointSave → model.save of the model's UNet (with its scheduler configuration, for the prediction type ComfyUI
    // marks), the CLIP's text encoder and the VAE; filename_prefix as SaveLatent's ("checkpoints/ComfyUI" → folder
    // checkpoints, prefix ComfyUI), the file's metadata ComfyUI's prompt and extra_pnginfo. ComfyUI lists no UI output for it.
    private ComfyValue[]? CheckpointSave(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var clip = Link<ClipValue>(id, inputs, "clip");
        var vae = Link<VaeValue>(id, inputs, "vae");
        var prefix = Text(id, inputs, "filename_prefix", "checkpoints/ComfyUI");
        if (model is null || clip is null || vae is null || SaveTarget(id, prefix) is not { } target) return null;
        Add(id, null, "model.save", [("unet", model.Unet), ("clip", clip.Clip), ("vae", vae.Vae), ("scheduler_config", model.SchedulerConfig)],
            [("prefix", target.Prefix), ("folder", target.Folder), ("metadata", ComfyMetadata())]);
        outputTypes[id] = "output";
        return [];
    }
}
