using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's guidance model patches and DualCFGGuider. APG, CFGZeroStar and CFGNorm ride on the MODEL, as RescaleCFG's
/// multiplier does, to the guidance.cfg of every sampler and guider it reaches, which runs them as ComfyUI's sampling
/// function does. DualCFGGuider maps to guidance.dual_cfg.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // APG → its settings on the MODEL. A second APG on the same model (ComfyUI would chain both) is a node error.
    private ComfyValue[]? Apg(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var eta = Number(id, inputs, "eta", 1);
        var threshold = Number(id, inputs, "norm_threshold", 5);
        var momentum = Number(id, inputs, "momentum", 0);
        if (model is null || eta is null || threshold is null || momentum is null
            || !Within(id, "eta", eta.Value, -10, 10) | !Within(id, "norm_threshold", threshold.Value, 0, 50) | !Within(id, "momentum", momentum.Value, -5, 1))
            return null;
        if (model.Apg is not null)
        {
            Error(id, "value_not_supported", "Value not supported", "model: APG is already applied to this model; FlowDiffusion runs one APG per model", "model");
            return null;
        }

        return [model with { Apg = new ApgSettings(eta.Value, threshold.Value, momentum.Value) }];
    }

    // CFGZeroStar → a flag on the MODEL. The guider runs it before CFGNorm, so the other order is a node error.
    private ComfyValue[]? CfgZeroStar(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        if (model is null) return null;
        var clash = model.CfgZeroStar ? "CFGZeroStar is already applied to this model"
            : model.CfgNorm is not null ? "CFGZeroStar after CFGNorm is not supported (FlowDiffusion runs CFGZeroStar first); put CFGZeroStar before CFGNorm"
            : LaterPostCfgPatch(model, "CFGZeroStar");
        if (clash is not null)
        {
            Error(id, "value_not_supported", "Value not supported", "model: " + clash, "model");
            return null;
        }

        return [model with { CfgZeroStar = true }];
    }

    // CFGNorm → its strength on the MODEL.
    private ComfyValue[]? CfgNorm(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var strength = Number(id, inputs, "strength", 1);
        if (model is null || strength is null || !Within(id, "strength", strength.Value, 0, 100)) return null;
        if ((model.CfgNorm is not null ? "CFGNorm is already applied to this model" : LaterPostCfgPatch(model, "CFGNorm")) is { } clash)
        {
            Error(id, "value_not_supported", "Value not supported", "model: " + clash, "model");
            return null;
        }

        return [model with { CfgNorm = strength.Value }];
    }

    // guidance.cfg's parameters for the model's APG, CFGZeroStar and CFGNorm. APG divides by the scale: ComfyUI gets NaN
    // at cfg 0, here it is a node error.
    private IEnumerable<(string, object)> GuidancePatchParameters(string id, ModelValue model, double cfg)
    {
        var parameters = new List<(string, object)>();
        if (model.Apg is { } apg)
        {
            if (cfg == 0) Error(id, "value_not_supported", "Value not supported", "cfg: APG divides by the CFG scale (ComfyUI's result is NaN at 0); use a cfg above 0", "cfg");
            parameters.AddRange([("apg", true), ("apg_eta", apg.Eta), ("apg_norm_threshold", apg.NormThreshold), ("apg_momentum", apg.Momentum)]);
        }

        if (model.CfgZeroStar) parameters.Add(("zero_star", true));
        if (model.PagScale > 0) parameters.Add(("pag_scale", model.PagScale));
        if (model.SagScale != 0) parameters.AddRange([("sag_scale", model.SagScale), ("sag_blur_sigma", model.SagBlurSigma)]);
        if (model.CfgNorm is { } strength) parameters.AddRange([("cfg_norm", true), ("cfg_norm_strength", strength)]);
        parameters.AddRange(MoreGuidancePatchParameters(model.MoreGuidance));
        return parameters;
    }

    // DualCFGGuider → unet.denoiser + guidance.dual_cfg. ComfyUI's DualCFGGuider never runs pre-CFG patches, so an APG
    // upstream changes nothing there, nor here; RescaleCFG, CFGZeroStar and CFGNorm act on its inner CFG in ComfyUI and are
    // node errors here.
    private ComfyValue[]? DualCfgGuider(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var cond1 = Link<ConditioningValue>(id, inputs, "cond1");
        var cond2 = Link<ConditioningValue>(id, inputs, "cond2");
        var negative = Link<ConditioningValue>(id, inputs, "negative");
        var cfgConds = Number(id, inputs, "cfg_conds", 8);
        var cfgNegative = Number(id, inputs, "cfg_cond2_negative", 8);
        var style = Choice(id, inputs, "style", "regular", ["regular", "nested"]);
        if (model is null || cond1 is null || cond2 is null || negative is null || cfgConds is null || cfgNegative is null || style is null
            || !Within(id, "cfg_conds", cfgConds.Value, 0, 100) | !Within(id, "cfg_cond2_negative", cfgNegative.Value, 0, 100))
            return null;
        if (model.CfgRescale > 0 || model.CfgZeroStar || model.CfgNorm is not null || model.PagScale > 0 || model.SagScale != 0 || model.MoreGuidance.Mahiro || model.MoreGuidance.EpsilonScaling is not null)
        {
            Error(id, "value_not_supported", "Value not supported",
                "model: RescaleCFG, CFGZeroStar, CFGNorm, PerturbedAttentionGuidance, SelfAttentionGuidance, Mahiro or Epsilon Scaling before DualCFGGuider is not supported (ComfyUI applies them to its inner CFG); remove them or use CFGGuider", "model");
            return null;
        }

        if (model.IpAdapter is not null)
        {
            Error(id, "value_not_supported", "Value not supported",
                "model: an IP-Adapter before DualCFGGuider is not supported (the pack picks image or empty tokens by a conditioning's place in ComfyUI's batch, which three conditionings make ambiguous); use CFGGuider", "model");
            return null;
        }

        var denoiser = Add(id, "denoiser", "unet.denoiser", [("unet", model.Unet)], []);
        var guider = Add(id, "guider", "guidance.dual_cfg",
            [("denoiser", $"{denoiser}.denoiser"), ("cond1", cond1.Conditioning), ("cond2", cond2.Conditioning), ("negative", negative.Conditioning)],
            [("scale_conds", cfgConds.Value), ("scale_negative", cfgNegative.Value), ("style", style)]);
        return [new GuiderValue($"{guider}.guider", model.SchedulerConfig, [.. InpaintEdges(cond1, negative)], model.DifferentialDiffusion) { Checkpoint = model.Checkpoint }];
    }
}
