using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Merges two UNets with a ratio per part (ComfyUI's ModelMergeBlocks).</summary>
[Node("unet.merge_blocks", "1.1.0", Category = "advanced/model_merging", Title = "Merge UNets by Block",
    Description = "Each weight becomes unet1's · r + unet2's · (1 − r), with r the ratio of the weight's part, as ComfyUI's ModelMergeBlocks: middle for the middle block, out for the up blocks and the output norm and convolution, input for everything else (the down blocks, the input convolution, the time and class embeddings). With blocks, the ratio per block instead: each weight takes the ratio of the longest prefix of its LDM name (ComfyUI's keys under diffusion_model., e.g. input_blocks.4.1.proj_in.weight) among the pairs, the first pair's where none matches, as ComfyUI's ModelMergeSD1/SD2/SDXL. The UNets must declare the same weights (names and shapes).")]
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

    /// <summary>Ratios per LDM key prefix, replacing input, middle and out when given.</summary>
    [Parameter(Description = "unet1's share per block as prefix=ratio pairs, separated by commas or lines, e.g. \"time_embed.=1, input_blocks.4.=0.3, middle_block.1.=0.5\": each weight takes the ratio of the longest prefix its LDM name (as ComfyUI's keys under diffusion_model.) starts with, the first pair's when none does. Empty: input, middle and out decide; given, they must stay 1. Needs UNets from checkpoints (diffusers weight names).", Multiline = true, Advanced = true)]
    public string Blocks { get; set; } = "";

    /// <summary>The merged UNet.</summary>
    [Output(Description = "unet1 with every weight merged at its part's ratio.")]
    public IUNetModel? Merged { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(Blocks))
        {
            if (Input != 1 || Middle != 1 || Out != 1)
                throw new ArgumentException("blocks replaces input, middle and out: give the parts' ratios as prefixes in blocks (e.g. input=0.2, middle=0.6, out=0.9) and leave input, middle and out at 1");
            var ratios = UNetBlockRatios.Parse(Blocks, "blocks");
            Merged = UNetMerging.MergeByNames(Unet1, Unet2, names =>
            {
                var ldm = LdmUNetNames.Of(names);
                return name => ldm.TryGetValue(name, out var key)
                    ? Strengths(ratios.Of(key))
                    : throw new ArgumentException($"blocks: unet1's weight '{name}' has no LDM name to match the prefixes against; blocks needs a UNet converted from a checkpoint (diffusers weight names). Use input, middle and out instead.");
            });
            return Task.CompletedTask;
        }

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
            return Strengths(ratio);
        });
        return Task.CompletedTask;
    }

    // ComfyUI: add_patches(…, 1.0 − ratio, ratio), the Python floats made float32 by torch.
    private static (float Model, float Patch) Strengths(double ratio) => ((float)ratio, (float)(1 - ratio));
}
