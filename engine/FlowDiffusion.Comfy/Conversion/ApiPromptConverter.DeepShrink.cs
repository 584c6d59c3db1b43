using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's PatchModelAddDownscale, "Kohya Deep Shrink" (comfy_extras/nodes_model_downscale.py) → unet.deep_shrink on the
/// MODEL's UNet, with ComfyUI's ranges and defaults (block 3, factor 2, window 0 … 0.35, after the skip) and each of its
/// methods (bicubic, nearest-exact, bilinear, area, bislerp).
/// </summary>
public sealed partial class ApiPromptConverter
{
    /// <summary>The resize methods ComfyUI's PatchModelAddDownscale lists, each of which unet.deep_shrink's graph has.</summary>
    internal static readonly string[] DeepShrinkMethods = ["bicubic", "nearest-exact", "bilinear", "area", "bislerp"];

    private ComfyValue[]? DeepShrink(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var block = Integer(id, inputs, "block_number", 3);
        var factor = Number(id, inputs, "downscale_factor", 2);
        var start = Number(id, inputs, "start_percent", 0);
        var end = Number(id, inputs, "end_percent", 0.35);
        var afterSkip = Boolean(id, inputs, "downscale_after_skip", true);
        var down = Choice(id, inputs, "downscale_method", "bicubic", DeepShrinkMethods);
        var up = Choice(id, inputs, "upscale_method", "bicubic", DeepShrinkMethods);
        // Every value out of range is reported, beside a refused method, as ComfyUI's validation lists each.
        var inRange = (block is null || Within(id, "block_number", block.Value, 1, 32)) & (factor is null || Within(id, "downscale_factor", factor.Value, 0.1, 9))
            & (start is null || Within(id, "start_percent", start.Value, 0, 1)) & (end is null || Within(id, "end_percent", end.Value, 0, 1));
        if (model is null || block is null || factor is null || start is null || end is null || afterSkip is null || down is null || up is null || !inRange)
        {
            return null;
        }

        var node = Add(id, null, "unet.deep_shrink", [("unet", model.Unet)],
            [("block_number", block.Value), ("downscale_factor", factor.Value), ("start_percent", start.Value), ("end_percent", end.Value),
             ("downscale_after_skip", afterSkip.Value), ("downscale_method", down), ("upscale_method", up)]);
        return [model with { Unet = $"{node}.unet_out" }];
    }
}
