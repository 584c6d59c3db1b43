using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's HyperTile (comfy_extras/nodes_hypertile.py) → unet.hypertile on the MODEL's UNet, with ComfyUI's ranges and
/// defaults (tile_size 256, swap_size 2, max_depth 0, scale_depth false). swap_size 3 and more are refused by name: ComfyUI
/// then picks each tile count with torch's global RNG, which no workflow here can reproduce.
/// </summary>
public sealed partial class ApiPromptConverter
{
    private ComfyValue[]? HyperTile(string id, JsonObject inputs)
    {
        var model = Link<ModelValue>(id, inputs, "model");
        var tileSize = Integer(id, inputs, "tile_size", 256);
        var swapSize = Integer(id, inputs, "swap_size", 2);
        var maxDepth = Integer(id, inputs, "max_depth", 0);
        var scaleDepth = Boolean(id, inputs, "scale_depth", false);
        var inRange = (tileSize is null || Within(id, "tile_size", tileSize.Value, 1, 2048)) & (swapSize is null || Within(id, "swap_size", swapSize.Value, 1, 128))
            & (maxDepth is null || Within(id, "max_depth", maxDepth.Value, 0, 10));
        if (inRange && swapSize > 2)
        {
            Error(id, "value_not_supported", "Value not supported",
                $"swap_size: {swapSize} is not supported (from 3 up ComfyUI picks each tile count at random with torch's global RNG); use 1 or 2, which both take the largest tile count as ComfyUI does", "swap_size");
            return null;
        }

        if (model is null || tileSize is null || swapSize is null || maxDepth is null || scaleDepth is null || !inRange)
        {
            return null;
        }

        var node = Add(id, null, "unet.hypertile", [("unet", model.Unet)],
            [("tile_size", tileSize.Value), ("swap_size", swapSize.Value), ("max_depth", maxDepth.Value), ("scale_depth", scaleDepth.Value)]);
        return [model with { Unet = $"{node}.unet_out" }];
    }
}
