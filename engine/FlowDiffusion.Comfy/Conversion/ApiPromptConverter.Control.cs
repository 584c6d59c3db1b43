using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.Onnx;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>The regional-conditioning and ControlNet classes: ConditioningSetArea(Percentage), ConditioningSetAreaStrength, ConditioningSetMask, ControlNet*, ComfyUI-Advanced-ControlNet's scaled soft weights and apply, DWPreprocessor, Canny.</summary>
public sealed partial class ApiPromptConverter
{
    // ConditioningSetArea → conditioning.set_area (pixels, floored to multiples of 8 when sampling, as ComfyUI does).
    private ComfyValue[]? SetArea(string id, JsonObject inputs)
    {
        var conditioning = Link<ConditioningValue>(id, inputs, "conditioning");
        var width = Integer(id, inputs, "width", 64);
        var height = Integer(id, inputs, "height", 64);
        var x = Integer(id, inputs, "x", 0);
        var y = Integer(id, inputs, "y", 0);
        var strength = Number(id, inputs, "strength", 1);
        if (conditioning is null || width is null || height is null || x is null || y is null || strength is null) return null;
        var node = Add(id, null, "conditioning.set_area", [("conditioning", conditioning.Conditioning)],
            [("width", width.Value), ("height", height.Value), ("x", x.Value), ("y", y.Value), ("strength", strength.Value)]);
        return [conditioning with { Conditioning = $"{node}.result" }];
    }

    // ConditioningSetTimestepRange → conditioning.set_timestep_range: the guider leaves the conditioning out of other steps.
    private ComfyValue[]? SetTimestepRange(string id, JsonObject inputs)
    {
        var conditioning = Link<ConditioningValue>(id, inputs, "conditioning");
        var start = Number(id, inputs, "start", 0);
        var end = Number(id, inputs, "end", 1);
        if (conditioning is null || start is null || end is null || !Within(id, "start", start.Value, 0, 1) || !Within(id, "end", end.Value, 0, 1)) return null;
        var node = Add(id, null, "conditioning.set_timestep_range", [("conditioning", conditioning.Conditioning)], [("start", start.Value), ("end", end.Value)]);
        return [conditioning with { Conditioning = $"{node}.result" }];
    }

    // ConditioningSetAreaPercentage → conditioning.set_area_fraction.
    private ComfyValue[]? SetAreaPercentage(string id, JsonObject inputs)
    {
        var conditioning = Link<ConditioningValue>(id, inputs, "conditioning");
        var width = Number(id, inputs, "width", 1);
        var height = Number(id, inputs, "height", 1);
        var x = Number(id, inputs, "x", 0);
        var y = Number(id, inputs, "y", 0);
        var strength = Number(id, inputs, "strength", 1);
        if (conditioning is null || width is null || height is null || x is null || y is null || strength is null) return null;
        var node = Add(id, null, "conditioning.set_area_fraction", [("conditioning", conditioning.Conditioning)],
            [("width", width.Value), ("height", height.Value), ("x", x.Value), ("y", y.Value), ("strength", strength.Value)]);
        return [conditioning with { Conditioning = $"{node}.result" }];
    }

    // ConditioningSetAreaStrength → conditioning.set_strength: the weight of each part's prediction, areas kept.
    private ComfyValue[]? SetAreaStrength(string id, JsonObject inputs)
    {
        var conditioning = Link<ConditioningValue>(id, inputs, "conditioning");
        var strength = Number(id, inputs, "strength", 1);
        if (conditioning is null || strength is null || !Within(id, "strength", strength.Value, 0, 10)) return null;
        var node = Add(id, null, "conditioning.set_strength", [("conditioning", conditioning.Conditioning)], [("strength", strength.Value)]);
        return [conditioning with { Conditioning = $"{node}.result" }];
    }

    // ConditioningSetMask → conditioning.set_mask ("mask bounds" is our mask_bounds).
    private ComfyValue[]? SetMask(string id, JsonObject inputs)
    {
        var conditioning = Link<ConditioningValue>(id, inputs, "conditioning");
        var mask = Link<MaskValue>(id, inputs, "mask");
        var strength = Number(id, inputs, "strength", 1);
        var area = Choice(id, inputs, "set_cond_area", "default", ["default", "mask bounds"]);
        if (conditioning is null || mask is null || strength is null || area is null) return null;
        var node = Add(id, null, "conditioning.set_mask", [("conditioning", conditioning.Conditioning), ("mask", mask.Mask)],
            [("strength", strength.Value), ("set_cond_area", area == "default" ? "default" : "mask_bounds")]);
        return [conditioning with { Conditioning = $"{node}.result" }];
    }

    // ControlNetLoader → controlnet.load of a file in models/controlnet.
    private ComfyValue[]? ControlNetLoader(string id, JsonObject inputs)
    {
        var path = ModelFile(id, inputs, "control_net_name", "controlnet", "ControlNetLoader");
        if (path is null) return null;
        var node = Add(id, null, "controlnet.load", [], [("path", path)]);
        return [new ControlNetValue($"{node}.control_net")];
    }

    // DiffControlNetLoader → controlnet.load: a diff ControlNet's weights are added to the UNet it meets when sampling (the
    // model ComfyUI's loader takes is that one in the workflows it serves); other files load as ControlNetLoader loads them.
    private ComfyValue[]? DiffControlNetLoader(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var path = ModelFile(id, inputs, "control_net_name", "controlnet", "DiffControlNetLoader");
        if (model is null || path is null) return null;
        var node = Add(id, null, "controlnet.load", [], [("path", path)]);
        return [new ControlNetValue($"{node}.control_net")];
    }

    // ControlNetApply → controlnet.apply on the one conditioning, for the whole schedule.
    private ComfyValue[]? ControlNetApply(string id, JsonObject inputs)
    {
        var conditioning = Link<ConditioningValue>(id, inputs, "conditioning");
        var net = Link<ControlNetValue>(id, inputs, "control_net");
        var image = Link<ImageValue>(id, inputs, "image");
        var strength = Number(id, inputs, "strength", 1);
        if (conditioning is null || net is null || image is null || strength is null) return null;
        var node = Add(id, null, "controlnet.apply", [("conditioning", conditioning.Conditioning), ("control_net", net.ControlNet), ("image", image.Image)],
            [("strength", strength.Value)]);
        return [conditioning with { Conditioning = $"{node}.result" }];
    }

    // ControlNetApplyAdvanced → controlnet.apply on the positive and on the negative with the same image and settings; the
    // guider batches the two equal hints into one ControlNet run, as ComfyUI shares one control object between them.
    private ComfyValue[]? ControlNetApplyAdvanced(string id, JsonObject inputs) =>
        ApplyToBoth(id, inputs, "ControlNetApplyAdvanced", "vae", [], positiveOnly: false);

    // controlnet.apply on the positive (and on the negative unless positiveOnly) with the image, strength and window of
    // either Apply Advanced class; its VAE input only serves ControlNets that take latents.
    private ComfyValue[]? ApplyToBoth(string id, JsonObject inputs, string className, string vaeInput, (string, object)[] more, bool positiveOnly)
    {
        var positive = Link<ConditioningValue>(id, inputs, "positive");
        var negative = Link<ConditioningValue>(id, inputs, "negative");
        var net = Link<ControlNetValue>(id, inputs, "control_net");
        var image = Link<ImageValue>(id, inputs, "image");
        var strength = Number(id, inputs, "strength", 1);
        var start = Number(id, inputs, "start_percent", 0);
        var end = Number(id, inputs, "end_percent", 1);
        if (inputs[vaeInput] is not null)
            warnings.Add($"node {id} ({className}): {vaeInput} is ignored (it serves ControlNets that take latents, which FlowDiffusion does not load)");
        if (positive is null || negative is null || net is null || image is null || strength is null || start is null || end is null) return null;
        (string, object)[] parameters = [("strength", strength.Value), ("start_percent", start.Value), ("end_percent", end.Value), .. more];
        var onPositive = Add(id, null, "controlnet.apply", [("conditioning", positive.Conditioning), ("control_net", net.ControlNet), ("image", image.Image)], parameters);
        if (positiveOnly) return [positive with { Conditioning = $"{onPositive}.result" }, negative];
        var onNegative = Add(id, "negative", "controlnet.apply", [("conditioning", negative.Conditioning), ("control_net", net.ControlNet), ("image", image.Image)], parameters);
        return [positive with { Conditioning = $"{onPositive}.result" }, negative with { Conditioning = $"{onNegative}.result" }];
    }

    // ACN_ScaledSoftControlNetWeights (ComfyUI-Advanced-ControlNet) → the weights ACN_AdvancedControlNetApply_v2 reads: the
    // base 0.825 only (controlnet.apply's guess mode, the original ControlNet's and sd-webui-controlnet's soft injection) and
    // an uncond multiplier of 0 or 1 (the ControlNet on the positive only, or on both); the keyframe shortcut is not supported.
    private ComfyValue[]? ScaledSoftControlNetWeights(string id, JsonObject inputs)
    {
        var multiplier = Number(id, inputs, "base_multiplier", 0.825);
        var uncond = Number(id, inputs, "uncond_multiplier", 1);
        if (inputs["cn_extras"] is not null)
        {
            Error(id, "value_not_in_list", "Input not supported", "cn_extras: FlowDiffusion's soft weights take no extras", "cn_extras");
            return null;
        }

        if (multiplier is null || uncond is null) return null;
        if (multiplier != 0.825)
        {
            Error(id, "value_not_in_list", "Value not in list", $"base_multiplier: {multiplier}: FlowDiffusion's soft weights are 0.825^(n−i) (guess mode); only 0.825 is supported", "base_multiplier");
            return null;
        }

        if (uncond is not (0 or 1))
        {
            Error(id, "value_not_in_list", "Value not in list", $"uncond_multiplier: {uncond}: only 1 (the ControlNet on both) or 0 (on the positive only) is supported", "uncond_multiplier");
            return null;
        }

        return [new ControlNetWeightsValue(multiplier.Value, uncond.Value), new UnsupportedOutput("TK_SHORTCUT (timestep keyframes) is not supported; link CN_WEIGHTS to weights_override")];
    }

    // ACN_AdvancedControlNetApply_v2 → ControlNetApplyAdvanced's controlnet.apply pair; with weights_override (scaled soft
    // weights) in guess mode, and on the positive alone when the uncond multiplier is 0 (the negative's residuals are zero
    // there, which adds nothing). Masks and keyframes are not supported.
    private ComfyValue[]? AdvancedControlNetApply(string id, JsonObject inputs)
    {
        foreach (var input in new[] { "mask_optional", "timestep_kf", "latent_kf_override" })
        {
            if (inputs[input] is not null)
            {
                Error(id, "value_not_in_list", "Input not supported", $"{input}: FlowDiffusion's Apply Advanced ControlNet takes weights_override only", input);
                return null;
            }
        }

        var weights = inputs["weights_override"] is null ? null : Link<ControlNetWeightsValue>(id, inputs, "weights_override");
        if (inputs["weights_override"] is not null && weights is null) return null;
        return ApplyToBoth(id, inputs, "ACN_AdvancedControlNetApply_v2", "vae_optional", [("guess_mode", weights is not null)], positiveOnly: weights is { UncondMultiplier: 0 });
    }

    // SetUnionControlNetType → controlnet.union_type: ComfyUI's type names ("auto" for none) are the node's.
    private ComfyValue[]? SetUnionControlNetType(string id, JsonObject inputs)
    {
        var net = Link<ControlNetValue>(id, inputs, "control_net");
        var type = Choice(id, inputs, "type", UnionControlTypes.Auto, [.. UnionControlTypes.Choices]);
        if (net is null || type is null) return null;
        var node = Add(id, null, "controlnet.union_type", [("control_net", net.ControlNet)], [("type", type)]);
        return [new ControlNetValue($"{node}.result")];
    }

    // Canny → image.canny_kornia: ComfyUI's node runs kornia's canny on the 0..1 image.
    private ComfyValue[]? Canny(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        var low = Number(id, inputs, "low_threshold", 0.4);
        var high = Number(id, inputs, "high_threshold", 0.8);
        if (image is null || low is null || high is null || !Within(id, "low_threshold", low.Value, 0.01, 0.99) | !Within(id, "high_threshold", high.Value, 0.01, 0.99))
            return null;
        var node = Add(id, null, "image.canny_kornia", [("image", image.Image)], [("low_threshold", low.Value), ("high_threshold", high.Value)]);
        return [new ImageValue($"{node}.edges")];
    }

    // DWPreprocessor (comfyui_controlnet_aux) → image.pose with its ONNX detector and pose model from models/annotators.
    private ComfyValue[]? DwPreprocessor(string id, JsonObject inputs)
    {
        var image = Link<ImageValue>(id, inputs, "image");
        string[] switches = ["enable", "disable"];
        var hands = Choice(id, inputs, "detect_hand", "enable", switches);
        var body = Choice(id, inputs, "detect_body", "enable", switches);
        var face = Choice(id, inputs, "detect_face", "enable", switches);
        var detector = AnnotatorFile(id, inputs, "bbox_detector");
        var model = AnnotatorFile(id, inputs, "pose_estimator");
        if (inputs["resolution"] is not null)
            warnings.Add($"node {id} (DWPreprocessor): resolution is ignored; the pose image has the input image's size (scale the image first to change it)");
        if (image is null || hands is null || body is null || face is null || detector is null || model is null) return null;
        var node = Add(id, null, "image.pose", [("image", image.Image)],
            [("detector", detector), ("model", model), ("body", body == "enable"), ("hands", hands == "enable"), ("face", face == "enable")]);
        return [new ImageValue($"{node}.pose")];
    }

    // DWPose's ONNX exports only: the TorchScript variants the extension also offers need torch.
    private string? AnnotatorFile(string id, JsonObject inputs, string input)
    {
        var name = Text(id, inputs, input, null);
        if (name is null) return null;
        if (!name.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            Error(id, "value_not_in_list", "Value not in list", $"{input}: '{name}' is not an ONNX model; FlowDiffusion runs DWPose's .onnx files from models/annotators", input);
            return null;
        }
        return ModelFile(id, inputs, input, "annotators", "DWPreprocessor");
    }
}
