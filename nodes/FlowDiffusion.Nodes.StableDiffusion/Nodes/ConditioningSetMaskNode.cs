using FlowDiffusion.Nodes.StableDiffusion.Regions;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>ComfyUI's ConditioningSetMask: the conditioning's prediction is weighted by a mask.</summary>
[Node("conditioning.set_mask", "1.0.0", Category = "conditioning", Title = "Conditioning Mask",
    Description = "Weights a conditioning's prediction by a mask (resized bilinearly to the latent) × strength, as ComfyUI's ConditioningSetMask: guidance.cfg blends all conditionings' predictions by their weights per pixel. 'mask_bounds' runs the model on the mask's bounding box only (ComfyUI's 'mask bounds').")]
public sealed class ConditioningSetMaskNode : INode
{
    /// <summary>The conditioning.</summary>
    [Input(Description = "The conditioning to restrict (each part of a combined one).")]
    public Conditioning? Conditioning { get; set; }

    /// <summary>The mask.</summary>
    [Input(Description = "Where the conditioning acts, in 0..1 (batch 1, or one per latent).")]
    public Mask? Mask { get; set; }

    /// <summary>The strength.</summary>
    [Parameter(Description = "The factor on the mask's weights.", Min = 0, Max = 10, Step = 0.01)]
    public float Strength { get; set; } = 1f;

    /// <summary>Which part of the latent the model runs on.</summary>
    [Parameter(Description = "'default': the model runs on the whole latent; 'mask_bounds': on the bounding box of the mask's non-zero pixels (at least 8×8 latent pixels).",
        Choices = ["default", "mask_bounds"])]
    public string SetCondArea { get; set; } = "default";

    /// <summary>The result.</summary>
    [Output(Description = "The conditioning weighted by the mask.")]
    public Conditioning? Result { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var bounds = SetCondArea switch
        {
            "default" => false,
            "mask_bounds" => true,
            _ => throw new ArgumentException($"set_cond_area: '{SetCondArea}' is not one of default, mask_bounds"),
        };
        Result = RegionEdit.Apply(Conditioning!, r => r with { Mask = Mask!, MaskStrength = Strength, MaskBounds = bounds });
        return Task.CompletedTask;
    }
}
