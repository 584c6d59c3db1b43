using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>The SDXL refiner's micro-conditioning: original size, crop and the aesthetic score its UNet embeds beside the pooled text.</summary>
[Node("conditioning.sdxl_refiner", "1.0.0", Category = "conditioning", Title = "SDXL Refiner Conditioning",
    Description = "Attaches the SDXL refiner's micro-conditioning (time_ids: original height and width, crop top and left, aesthetic score) to a conditioning from the refiner's clip. "
        + "diffusers' defaults are an aesthetic score of 6 for the positive prompt and 2.5 for the negative one; a size of 0 stands for the image being refined. Without this node the refiner assumes the image's size, crop 0 and score 6.")]
public sealed class SdxlRefinerConditioningNode : INode
{
    /// <summary>The conditioning to extend.</summary>
    [Input(Description = "The conditioning (from an SDXL refiner's clip).")]
    public Conditioning? Conditioning { get; set; }

    /// <summary>The aesthetic score.</summary>
    [Parameter(Description = "The aesthetic score the refiner should aim for (its training images were scored 0–10): 6 for the positive prompt and 2.5 for the negative one are diffusers' defaults.", Min = 0, Max = 1000, Step = 0.01)]
    public double AestheticScore { get; set; } = SdxlTimeIds.PositiveAestheticScore;

    /// <summary>Original width.</summary>
    [Parameter(Description = "The original image width the model should assume, in pixels; 0 = the refined image's width.", Min = 0, Max = 16384)]
    public int OriginalWidth { get; set; }

    /// <summary>Original height.</summary>
    [Parameter(Description = "The original image height the model should assume, in pixels; 0 = the refined image's height.", Min = 0, Max = 16384)]
    public int OriginalHeight { get; set; }

    /// <summary>Crop left.</summary>
    [Parameter(Description = "The crop's left offset in pixels (0 = uncropped).", Min = 0, Max = 16384)]
    public int CropLeft { get; set; }

    /// <summary>Crop top.</summary>
    [Parameter(Description = "The crop's top offset in pixels (0 = uncropped).", Min = 0, Max = 16384)]
    public int CropTop { get; set; }

    /// <summary>The conditioning with time ids.</summary>
    [Output(Description = "The conditioning with the refiner's time_ids extra [1, 5].")]
    public Conditioning? ConditioningOut { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        float[] ids = [OriginalHeight, OriginalWidth, CropTop, CropLeft, (float)AestheticScore];
        var timeIds = new ExtraTensor([1, SdxlTimeIds.RefinerCount], ids);
        ConditioningOut = CombinedConditionings.Each(Conditioning!, part => part.With(StandardExtras.TimeIds, timeIds));
        return Task.CompletedTask;
    }
}
