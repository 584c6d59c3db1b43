using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>
/// Kohya's Deep Shrink, as ComfyUI's PatchModelAddDownscale: the UNet handle with the block, factor and methods its graph's
/// Deep Shrink inputs take on the steps inside the schedule window (plain, ControlNet-free, IP-Adapter, every guidance batch).
/// </summary>
[Node("unet.deep_shrink", "1.0.0", Category = "model_patches", Title = "Deep Shrink (Kohya)",
    Description = "Kohya's Deep Shrink, as ComfyUI's PatchModelAddDownscale: for the steps from start_percent to end_percent of the schedule, the UNet's encoder features are shrunk by downscale_factor after input block block_number (conv_in is block 0; each residual block and each downsampler counts one: SD 1.5 has 0 … 11, SDXL 0 … 8), and the decoder resizes them back to each skip connection's size. Lets a model generate above its native size without repeated subjects. Methods: bicubic, nearest-exact, bilinear, area (adaptive average pooling) and bislerp (ComfyUI's slerp between neighbouring feature vectors). Needs a model model.load converted (builder version 11; area and bislerp need 13); steps with a ControlNet or T2I-Adapter active inside the window are refused. Another unet.deep_shrink downstream replaces these settings.")]
public sealed class UNetDeepShrinkNode : INode
{
    /// <summary>The UNet.</summary>
    [Input(Description = "The UNet to shrink (model.load's unet, or one lora.apply or unet.freeu changed).")]
    public IUNetModel? Unet { get; set; }

    /// <summary>ComfyUI's block_number.</summary>
    [Parameter(Description = "The input block after which the features are shrunk (ComfyUI's numbering: conv_in is 0; 3 is SD 1.5's and SDXL's first downsampler).", Min = 1, Max = 32)]
    public int BlockNumber { get; set; } = 3;

    /// <summary>Each side is divided by this (rounded).</summary>
    [Parameter(Description = "Each side of the features becomes round(side / downscale_factor).", Min = 0.1, Max = 9, Step = 0.001)]
    public double DownscaleFactor { get; set; } = 2;

    /// <summary>Where the window starts.</summary>
    [Parameter(Description = "The fraction of the schedule where shrinking starts (0: the first step), by ComfyUI's percent_to_sigma.", Min = 0, Max = 1, Step = 0.001)]
    public double StartPercent { get; set; }

    /// <summary>Where the window ends.</summary>
    [Parameter(Description = "The fraction of the schedule where shrinking ends.", Min = 0, Max = 1, Step = 0.001)]
    public double EndPercent { get; set; } = 0.35;

    /// <summary>Whether the block's skip keeps its full size.</summary>
    [Parameter(Description = "true: the block's skip connection keeps the full size and only what follows is shrunk (ComfyUI's default); false: the skip is shrunk too.")]
    public bool DownscaleAfterSkip { get; set; } = true;

    /// <summary>How the features are shrunk.</summary>
    [Parameter(Description = "How the features are shrunk (torch's interpolate, no antialiasing; area: adaptive average pooling; bislerp: ComfyUI's).", Choices = ["bicubic", "nearest-exact", "bilinear", "area", "bislerp"])]
    public string DownscaleMethod { get; set; } = "bicubic";

    /// <summary>How the decoder's features are resized back.</summary>
    [Parameter(Description = "How the decoder's features are resized back to each skip connection's size.", Choices = ["bicubic", "nearest-exact", "bilinear", "area", "bislerp"])]
    public string UpscaleMethod { get; set; } = "bicubic";

    /// <summary>The UNet with Deep Shrink.</summary>
    [Output(Description = "The UNet with Deep Shrink applied inside its window.")]
    public IUNetModel? UnetOut { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (BlockNumber is < 1 or > 32) throw new ArgumentException($"block_number must be 1 … 32; got {BlockNumber}");
        if (!(DownscaleFactor is >= 0.1 and <= 9)) throw new ArgumentException($"downscale_factor must be 0.1 … 9; got {DownscaleFactor}");
        foreach (var (name, value) in new[] { ("start_percent", StartPercent), ("end_percent", EndPercent) })
        {
            if (!(value is >= 0 and <= 1)) throw new ArgumentException($"{name} must be 0 … 1; got {value}");
        }

        var settings = new DeepShrink(BlockNumber, DownscaleFactor, DownscaleAfterSkip, DownscaleMethod, UpscaleMethod);
        if (settings.Problem() is { } problem) throw new ArgumentException(problem);
        var unet = Unet as OnnxUNetModel
            ?? throw new ArgumentException($"unet: this UNet ({Unet?.GetType().Name ?? "none"}) is not one model.load loaded, so Deep Shrink cannot be applied to it.");
        UnetOut = unet.WithDeepShrink(new DeepShrinkWindow(settings, (float)StartPercent, (float)EndPercent));
        return Task.CompletedTask;
    }
}
