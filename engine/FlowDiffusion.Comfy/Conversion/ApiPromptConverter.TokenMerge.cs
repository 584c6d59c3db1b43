using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's TomePatchModel (comfy_extras/nodes_tomesd.py) → unet.token_merge on the MODEL's UNet, ratio 0 … 1 (default
/// 0.3) as ComfyUI declares it. Each 2 × 2 cell keeps its top-left token where ComfyUI draws one at random (see
/// unet.token_merge).
/// </summary>
public sealed partial class ApiPromptConverter
{
    private ComfyValue[]? TomePatchModel(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var ratio = Number(id, inputs, "ratio", 0.3);
        if (model is null || ratio is null || !Within(id, "ratio", ratio.Value, 0, 1))
        {
            return null;
        }

        var node = Add(id, null, "unet.token_merge", [("unet", model.Unet)], [("ratio", ratio.Value)]);
        return [model with { Unet = $"{node}.unet_out" }];
    }
}
