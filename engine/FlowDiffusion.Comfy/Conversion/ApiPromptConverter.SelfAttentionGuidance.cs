using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's SelfAttentionGuidance: its scale and blur sigma ride on the MODEL to the guidance.cfg of every sampler and guider
/// it reaches (sag_scale, sag_blur_sigma), which maps the negative rows' middle-block self-attention in its UNet call, predicts
/// the degraded latents again with the negative and runs SAG among the post-CFG patches.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // SelfAttentionGuidance → sag_scale and sag_blur_sigma on the MODEL; scale 0 is off, as ComfyUI's post-CFG function then
    // adds nothing. The guider runs SAG after CFGZeroStar and PAG (their terms commute) and before CFGNorm, Mahiro and
    // Epsilon Scaling, so the other orders are node errors; so are PAG (both replace the middle block's first self-attention,
    // ComfyUI keeping the last) and TCFG (it changes the unconditional estimate SAG degrades).
    private ComfyValue[]? SelfAttentionGuidance(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var scale = Number(id, inputs, "scale", 0.5);
        var blur = Number(id, inputs, "blur_sigma", 2);
        if (model is null || scale is null || blur is null || !Within(id, "scale", scale.Value, -2, 5) | !Within(id, "blur_sigma", blur.Value, 0, 10)) return null;
        if (scale.Value == 0) return [model];
        if (blur.Value == 0)
        {
            Error(id, "value_not_supported", "Value not supported", "blur_sigma: 0 is not supported (ComfyUI's blur divides by it and draws NaN); use a blur_sigma above 0", "blur_sigma");
            return null;
        }

        var clash = model.SagScale != 0 ? "SelfAttentionGuidance is already applied to this model; FlowDiffusion runs one per model"
            : model.PagScale > 0 ? "SelfAttentionGuidance with PerturbedAttentionGuidance is not supported (both replace the middle block's first self-attention; ComfyUI keeps only the one applied last)"
            : model.MoreGuidance.Tcfg ? "SelfAttentionGuidance with TCFG is not supported (TCFG changes the unconditional estimate SAG degrades)"
            : model.CfgNorm is not null ? "SelfAttentionGuidance after CFGNorm is not supported (FlowDiffusion runs SAG first); put SelfAttentionGuidance before CFGNorm"
            : LaterPostCfgPatch(model, "SelfAttentionGuidance");
        if (clash is not null)
        {
            Error(id, "value_not_supported", "Value not supported", "model: " + clash, "model");
            return null;
        }

        return [model with { SagScale = scale.Value, SagBlurSigma = blur.Value }];
    }
}
