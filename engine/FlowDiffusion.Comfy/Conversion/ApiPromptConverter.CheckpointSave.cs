using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

// ComfyUI's model save nodes (CheckpointSave, ModelSave, VAESave, CLIPSave), all through model.save.
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

    // ModelSave → model.save of the UNet alone: ComfyUI's save_checkpoint without clip and vae, so the same single-file
    // layout (model.diffusion_model.*) and prediction marks; default prefix diffusion_models/ComfyUI.
    private ComfyValue[]? ModelSave(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var prefix = Text(id, inputs, "filename_prefix", "diffusion_models/ComfyUI");
        if (model is null || SaveTarget(id, prefix) is not { } target) return null;
        Add(id, null, "model.save", [("unet", model.Unet), ("scheduler_config", model.SchedulerConfig)],
            [("prefix", target.Prefix), ("folder", target.Folder), ("metadata", ComfyMetadata())]);
        outputTypes[id] = "output";
        return [];
    }

    // VAESave → model.save's vae layout (LDM's VAE names, no first_stage_model. prefix); default prefix vae/ComfyUI_vae.
    private ComfyValue[]? VaeSave(string id, JsonObject inputs)
    {
        var vae = Link<VaeValue>(id, inputs, "vae");
        var prefix = Text(id, inputs, "filename_prefix", "vae/ComfyUI_vae");
        if (vae is null || SaveTarget(id, prefix) is not { } target) return null;
        Add(id, null, "model.save", [("vae", vae.Vae)],
            [("prefix", target.Prefix), ("folder", target.Folder), ("layout", "vae"), ("metadata", ComfyMetadata())]);
        outputTypes[id] = "output";
        return [];
    }

    // CLIPSave → model.save's clip layout: one file per tower, prefix_clip_l and (SDXL) prefix_clip_g, each numbered on
    // its own as ComfyUI numbers them; default prefix clip/ComfyUI.
    private ComfyValue[]? ClipSave(string id, JsonObject inputs)
    {
        var clip = Link<ClipValue>(id, inputs, "clip");
        var prefix = Text(id, inputs, "filename_prefix", "clip/ComfyUI");
        if (clip is null || SaveTarget(id, prefix) is not { } target) return null;
        Add(id, null, "model.save", [("clip", clip.Clip)],
            [("prefix", target.Prefix), ("folder", target.Folder), ("layout", "clip"), ("metadata", ComfyMetadata())]);
        outputTypes[id] = "output";
        return [];
    }
}
