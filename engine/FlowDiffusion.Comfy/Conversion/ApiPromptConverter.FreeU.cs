using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's FreeU and FreeU_V2 (comfy_extras/nodes_freelunch.py) → unet.freeu on the MODEL's UNet, version 1 or 2. Each
/// factor is 0 … 10 as ComfyUI declares it; the defaults are FreeU's (b1 1.1, b2 1.2) or FreeU_V2's (1.3, 1.4), s1 0.9, s2 0.2.
/// </summary>
public sealed partial class ApiPromptConverter
{
    private ComfyValue[]? FreeU(string id, JsonObject inputs, string type)
    {
        var second = type == "FreeU_V2";
        var model = Link<ModelValue>(id, inputs, "model");
        var b1 = Number(id, inputs, "b1", second ? 1.3 : 1.1);
        var b2 = Number(id, inputs, "b2", second ? 1.4 : 1.2);
        var s1 = Number(id, inputs, "s1", 0.9);
        var s2 = Number(id, inputs, "s2", 0.2);
        // Every factor out of range is reported, as ComfyUI's validation lists each.
        if (model is null || b1 is null || b2 is null || s1 is null || s2 is null
            || !(Within(id, "b1", b1.Value, 0, 10) & Within(id, "b2", b2.Value, 0, 10) & Within(id, "s1", s1.Value, 0, 10) & Within(id, "s2", s2.Value, 0, 10)))
        {
            return null;
        }

        var node = Add(id, null, "unet.freeu", [("unet", model.Unet)],
            [("b1", b1.Value), ("b2", b2.Value), ("s1", s1.Value), ("s2", s2.Value), ("version", second ? 2 : 1)]);
        return [model with { Unet = $"{node}.unet_out" }];
    }
}
