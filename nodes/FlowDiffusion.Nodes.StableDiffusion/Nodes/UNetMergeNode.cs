using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Merges two UNets weight by weight (ComfyUI's ModelMergeSimple, ModelMergeAdd and ModelMergeSubtract).</summary>
[Node("unet.merge", "1.0.0", Category = "advanced/model_merging", Title = "Merge UNets",
    Description = "Each weight becomes unet1's · strength1 + unet2's · strength2, each UNet's weights as its handle carries them (a LoRA applied to either is part of them). ComfyUI's ModelMergeSimple is strength1 = ratio and strength2 = 1 − ratio, ModelMergeAdd 1 and 1, ModelMergeSubtract multiplier and −multiplier. The result is unet1 with its weights overridden, computed when its session is first created; the UNets must declare the same weights (names and shapes).")]
public sealed class UNetMergeNode : INode
{
    /// <summary>The first UNet.</summary>
    [Input(Description = "The UNet the result is made from: its graph, options and overrides come first.")]
    public IUNetModel? Unet1 { get; set; }

    /// <summary>The second UNet.</summary>
    [Input(Description = "The UNet merged in, with the same weights as unet1.")]
    public IUNetModel? Unet2 { get; set; }

    /// <summary>What unet1's weights are multiplied by.</summary>
    [Parameter(Description = "What unet1's weights are multiplied by.", Min = -10, Max = 10, Step = 0.01)]
    public double Strength1 { get; set; } = 0.5;

    /// <summary>What unet2's weights are multiplied by.</summary>
    [Parameter(Description = "What unet2's weights are multiplied by before they are added.", Min = -10, Max = 10, Step = 0.01)]
    public double Strength2 { get; set; } = 0.5;

    /// <summary>The merged UNet.</summary>
    [Output(Description = "unet1 with every weight merged.")]
    public IUNetModel? Merged { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        MergeStrengths.Check("strength1", Strength1);
        MergeStrengths.Check("strength2", Strength2);
        float first = (float)Strength1, second = (float)Strength2;
        Merged = UNetMerging.Merge(Unet1, Unet2, _ => (first, second));
        return Task.CompletedTask;
    }
}
