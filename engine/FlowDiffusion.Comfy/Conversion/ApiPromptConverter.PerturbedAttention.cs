using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's PerturbedAttentionGuidance: its scale rides on the MODEL to the guidance.cfg of every sampler and guider it
/// reaches (pag_scale), which adds the perturbed conditional rows to its UNet call and runs PAG among the post-CFG patches.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // PerturbedAttentionGuidance → pag_scale on the MODEL; 0 is off, as ComfyUI's post-CFG function returns the CFG result
    // unchanged. The guider runs PAG before CFGNorm, Mahiro and Epsilon Scaling (CFGZeroStar's term commutes with it), so the other orders are node errors.
    private ComfyValue[]? PerturbedAttentionGuidance(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var scale = Number(id, inputs, "scale", 3);
        if (model is null || scale is null || !Within(id, "scale", scale.Value, 0, 100)) return null;
        var clash = model.PagScale > 0 ? "PerturbedAttentionGuidance is already applied to this model; FlowDiffusion runs one per model"
            : model.SagScale != 0 && scale.Value > 0 ? "PerturbedAttentionGuidance with SelfAttentionGuidance is not supported (both replace the middle block's first self-attention; ComfyUI keeps only the one applied last)"
            : model.CfgNorm is not null && scale.Value > 0 ? "PerturbedAttentionGuidance after CFGNorm is not supported (FlowDiffusion runs PAG first); put PerturbedAttentionGuidance before CFGNorm"
            : scale.Value > 0 ? LaterPostCfgPatch(model, "PerturbedAttentionGuidance")
            : null;
        if (clash is not null)
        {
            Error(id, "value_not_supported", "Value not supported", "model: " + clash, "model");
            return null;
        }

        return [model with { PagScale = scale.Value }];
    }
}
