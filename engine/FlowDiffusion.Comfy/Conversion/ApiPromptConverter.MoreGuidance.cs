using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's TCFG and LatentApplyOperationCFG (pre-CFG functions) and Mahiro and EpsilonScaling (post-CFG functions) ride
/// on the MODEL, as APG does, to the guidance.cfg of every sampler and guider it reaches. ComfyUI runs each list in the
/// order the nodes patched the model; guidance.cfg's order is fixed — TCFG, the latent operation, APG; then CFG (or
/// RescaleCFG's); then CFGZeroStar, PerturbedAttentionGuidance, CFGNorm, Mahiro, EpsilonScaling — so a patch applied after one that runs later here
/// is a node error naming the order to use, and so is a second patch of a kind.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // TCFG → a flag on the MODEL; it runs first of the pre-CFG functions here.
    private ComfyValue[]? Tcfg(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        if (model is null) return null;
        var clash = model.MoreGuidance.Tcfg ? "TCFG is already applied to this model"
            : model.MoreGuidance.LatentOperation is not null || model.Apg is not null
                ? "TCFG after LatentApplyOperationCFG or APG is not supported (FlowDiffusion runs TCFG first); put TCFG before them"
                : model.SagScale != 0 ? "TCFG with SelfAttentionGuidance is not supported (TCFG changes the unconditional estimate SAG degrades)"
                : null;
        return Patched(id, model, clash, model.MoreGuidance with { Tcfg = true });
    }

    // LatentApplyOperationCFG → the operation on the MODEL; it runs after TCFG and before APG here.
    private ComfyValue[]? LatentApplyOperationCfg(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var operation = Link<LatentOperationValue>(id, inputs, "operation");
        if (model is null || operation is null) return null;
        var clash = model.MoreGuidance.LatentOperation is not null ? "LatentApplyOperationCFG is already applied to this model; FlowDiffusion runs one per model"
            : model.Apg is not null ? "LatentApplyOperationCFG after APG is not supported (FlowDiffusion runs the operation first); put it before APG"
            : null;
        return Patched(id, model, clash, model.MoreGuidance with { LatentOperation = operation });
    }

    // Mahiro → a flag on the MODEL; it runs after CFGZeroStar and CFGNorm here.
    private ComfyValue[]? Mahiro(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        if (model is null) return null;
        var clash = model.MoreGuidance.Mahiro ? "Mahiro is already applied to this model"
            : LaterPostCfgPatch(model, "Mahiro");
        return Patched(id, model, clash, model.MoreGuidance with { Mahiro = true });
    }

    // Epsilon Scaling → its factor on the MODEL; it runs last here. ComfyUI turns a factor of 0 into 10⁻⁹, below its range.
    private ComfyValue[]? EpsilonScaling(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var factor = Number(id, inputs, "scaling_factor", 1.005);
        if (model is null || factor is null || !Within(id, "scaling_factor", factor.Value, 0.5, 1.5)) return null;
        var clash = model.MoreGuidance.EpsilonScaling is not null ? "Epsilon Scaling is already applied to this model" : null;
        return Patched(id, model, clash, model.MoreGuidance with { EpsilonScaling = factor.Value });
    }

    private ComfyValue[]? Patched(string id, ModelValue model, string? clash, MoreGuidancePatches patches)
    {
        if (clash is null) return [model with { MoreGuidance = patches }];
        Error(id, "value_not_supported", "Value not supported", "model: " + clash, "model");
        return null;
    }

    // The first post-CFG patch already on the model that FlowDiffusion runs after the one being applied, as a clash message.
    private static string? LaterPostCfgPatch(ModelValue model, string applying)
    {
        var later = applying switch
        {
            "CFGZeroStar" or "PerturbedAttentionGuidance" or "SelfAttentionGuidance" or "CFGNorm" => model.MoreGuidance.Mahiro ? "Mahiro" : model.MoreGuidance.EpsilonScaling is not null ? "Epsilon Scaling" : null,
            "Mahiro" => model.MoreGuidance.EpsilonScaling is not null ? "Epsilon Scaling" : null,
            _ => null,
        };
        return later is null ? null : $"{applying} after {later} is not supported (FlowDiffusion runs {applying} first); put {applying} before {later}";
    }

    // guidance.cfg's parameters for the model's TCFG, latent operation, Mahiro and Epsilon Scaling.
    private static IEnumerable<(string, object)> MoreGuidancePatchParameters(MoreGuidancePatches patches)
    {
        if (patches.Tcfg) yield return ("tcfg", true);
        if (patches.LatentOperation is { } operation)
        {
            yield return ("latent_operation", operation.Operation);
            if (operation.Operation == "tonemap_reinhard")
            {
                yield return ("latent_operation_multiplier", operation.Multiplier);
            }
            else
            {
                yield return ("latent_operation_sharpen_radius", operation.SharpenRadius);
                yield return ("latent_operation_sigma", operation.Sigma);
                yield return ("latent_operation_alpha", operation.Alpha);
            }
        }

        if (patches.Mahiro) yield return ("mahiro", true);
        if (patches.EpsilonScaling is { } factor) yield return ("epsilon_scaling", factor);
    }
}
