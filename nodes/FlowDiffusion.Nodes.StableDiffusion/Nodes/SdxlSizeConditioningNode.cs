using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>SDXL's micro-conditioning: the size and crop numbers (time ids) an SDXL UNet embeds beside the pooled text.</summary>
[Node("conditioning.sdxl_size", "1.0.0", Category = "conditioning", Title = "SDXL Size Conditioning",
    Description = "Attaches SDXL's size conditioning (time_ids: original height and width, crop top and left, target height and width) to a conditioning. "
        + "A size of 0 stands for the generated image's size; without this node an SDXL UNet uses the image's size and crop 0. A larger original size steers away from upscaled-looking training images; a crop offset imitates cropped ones.")]
public sealed class SdxlSizeConditioningNode : INode
{
    /// <summary>The conditioning to extend.</summary>
    [Input(Description = "The conditioning (from an SDXL model's clip).")]
    public Conditioning? Conditioning { get; set; }

    /// <summary>Original width.</summary>
    [Parameter(Description = "The original image width the model should assume, in pixels; 0 = the generated image's width.", Min = 0, Max = 16384)]
    public int OriginalWidth { get; set; }

    /// <summary>Original height.</summary>
    [Parameter(Description = "The original image height the model should assume, in pixels; 0 = the generated image's height.", Min = 0, Max = 16384)]
    public int OriginalHeight { get; set; }

    /// <summary>Crop left.</summary>
    [Parameter(Description = "The crop's left offset in pixels (0 = uncropped).", Min = 0, Max = 16384)]
    public int CropLeft { get; set; }

    /// <summary>Crop top.</summary>
    [Parameter(Description = "The crop's top offset in pixels (0 = uncropped).", Min = 0, Max = 16384)]
    public int CropTop { get; set; }

    /// <summary>Target width.</summary>
    [Parameter(Description = "The target image width, in pixels; 0 = the generated image's width.", Min = 0, Max = 16384)]
    public int TargetWidth { get; set; }

    /// <summary>Target height.</summary>
    [Parameter(Description = "The target image height, in pixels; 0 = the generated image's height.", Min = 0, Max = 16384)]
    public int TargetHeight { get; set; }

    /// <summary>The conditioning with time ids.</summary>
    [Output(Description = "The conditioning with SDXL's time_ids extra [1, 6].")]
    public Conditioning? ConditioningOut { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        float[] ids = [OriginalHeight, OriginalWidth, CropTop, CropLeft, TargetHeight, TargetWidth];
        var timeIds = new ExtraTensor([1, 6], ids);
        ConditioningOut = CombinedConditionings.Each(Conditioning!, part => part.With(StandardExtras.TimeIds, timeIds));
        return Task.CompletedTask;
    }
}
