using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Merges two UNets with a ratio per part (ComfyUI's ModelMergeBlocks).</summary>
[Node("unet.merge_blocks", "1.0.0", Category = "advanced/model_merging", Title = "Merge UNets by Block",
    Description = "Each weight becomes unet1's · r + unet2's · (1 − r), with r the ratio of the weight's part, as ComfyUI's ModelMergeBlocks: middle for the middle block, out for the up blocks and the output norm and convolution, input for everything else (the down blocks, the input convolution, the time and class embeddings). The UNets must declare the same weights (names and shapes).")]
public sealed class UNetMergeBlocksNode : INode
{
    /// <summary>The first UNet.</summary>
    [Input(Description = "The UNet the result is made from: its graph, options and overrides come first.")]
    public IUNetModel? Unet1 { get; set; }

    /// <summary>The second UNet.</summary>
    [Input(Description = "The UNet merged in, with the same weights as unet1.")]
    public IUNetModel? Unet2 { get; set; }

    /// <summary>unet1's share of the input side.</summary>
    [Parameter(Description = "unet1's share of the down blocks, the input convolution and the embeddings (1 = unet1's, 0 = unet2's).", Min = 0, Max = 1, Step = 0.01)]
    public double Input { get; set; } = 1;

    /// <summary>unet1's share of the middle block.</summary>
    [Parameter(Description = "unet1's share of the middle block.", Min = 0, Max = 1, Step = 0.01)]
    public double Middle { get; set; } = 1;

    /// <summary>unet1's share of the output side.</summary>
    [Parameter(Description = "unet1's share of the up blocks and the output norm and convolution.", Min = 0, Max = 1, Step = 0.01)]
    public double Out { get; set; } = 1;

    /// <summary>The merged UNet.</summary>
    [Output(Description = "unet1 with every weight merged at its part's ratio.")]
    public IUNetModel? Merged { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        MergeStrengths.CheckRatio("input", Input);
        MergeStrengths.CheckRatio("middle", Middle);
        MergeStrengths.CheckRatio("out", Out);
        Merged = UNetMerging.Merge(Unet1, Unet2, name =>
        {
            var ratio = UNetBlocks.Of(name) switch
            {
                UNetBlock.Middle => Middle,
                UNetBlock.Out => Out,
                _ => Input,
            };
            // ComfyUI: add_patches(…, 1.0 − ratio, ratio), the Python floats made float32 by torch.
            return ((float)ratio, (float)(1 - ratio));
        });
        return Task.CompletedTask;
    }
}
