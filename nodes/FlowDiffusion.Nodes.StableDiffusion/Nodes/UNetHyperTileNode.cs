using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>
/// HyperTile, as ComfyUI's HyperTile node: the UNet handle whose self-attentions at the tiled depths attend in tiles, with
/// the tiles computed for each call's latent size (plain, ControlNet, IP-Adapter, every guidance batch).
/// </summary>
[Node("unet.hypertile", "1.0.0", Category = "model_patches", Title = "HyperTile",
    Description = "HyperTile, as ComfyUI's HyperTile node: the self-attention of the UNet's transformer blocks at depths 0 … max_depth (depth i: the latent's height·width / 4^i tokens) attends in tiles of about tile_size image pixels a side instead of over the whole image, which is faster at large sizes and changes the image a little. As in ComfyUI, the queries are cut into tiles of the token grid and each tile attends to the matching contiguous run of keys and values. swap_size 1 and 2 take the largest tile count (ComfyUI draws at random from 3 up, which is refused). Needs a model model.load converted (builder version 14). Another unet.hypertile downstream replaces these settings.")]
public sealed class UNetHyperTileNode : INode
{
    /// <summary>The UNet.</summary>
    [Input(Description = "The UNet to tile (model.load's unet, or one lora.apply, unet.freeu or unet.deep_shrink changed).")]
    public IUNetModel? Unet { get; set; }

    /// <summary>ComfyUI's tile_size.</summary>
    [Parameter(Description = "The tile's side in image pixels (below 32 counts as 32); the latent tile is tile_size / 8, and a side is cut into as many tiles as its smallest divisor at least that big allows.", Min = 1, Max = 2048)]
    public int TileSize { get; set; } = 256;

    /// <summary>ComfyUI's swap_size.</summary>
    [Parameter(Description = "ComfyUI's swap_size: 1 or 2 take the largest tile count (ComfyUI's choice with them); 3 and more are refused, as ComfyUI then picks at random.", Min = 1, Max = 128)]
    public int SwapSize { get; set; } = 2;

    /// <summary>ComfyUI's max_depth.</summary>
    [Parameter(Description = "The deepest UNet level tiled: 0 tiles the full-resolution blocks only (SDXL has none there, so it needs 1 or more), 1 also the half-resolution ones, and so on.", Min = 0, Max = 10)]
    public int MaxDepth { get; set; }

    /// <summary>ComfyUI's scale_depth.</summary>
    [Parameter(Description = "true: the tile's side doubles at each deeper level (depth i: tile_size · 2^i), so deeper levels are cut into fewer tiles.")]
    public bool ScaleDepth { get; set; }

    /// <summary>The UNet with HyperTile.</summary>
    [Output(Description = "The UNet with HyperTile applied at every step.")]
    public IUNetModel? UnetOut { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var settings = new HyperTile(TileSize, SwapSize, MaxDepth, ScaleDepth);
        if (settings.Problem() is { } problem) throw new ArgumentException(problem);
        var unet = Unet as OnnxUNetModel
            ?? throw new ArgumentException($"unet: this UNet ({Unet?.GetType().Name ?? "none"}) is not one model.load loaded, so HyperTile cannot be applied to it.");
        UnetOut = unet.WithHyperTile(settings);
        return Task.CompletedTask;
    }
}
