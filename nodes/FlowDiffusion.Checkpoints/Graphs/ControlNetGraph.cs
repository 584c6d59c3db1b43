using FlowDiffusion.Checkpoints.ControlNet;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The SD 1.x or SDXL ControlNet as ONNX: the control image embedded by strided 3×3 convolutions to latent resolution and added
/// after the encoder's <c>conv_in</c>; the encoder copy (as <see cref="UNetGraph"/> builds it); one 1×1 convolution per
/// skip and one after the middle block give the residuals (<see cref="ControlResiduals"/>). An SDXL ControlNet's encoder
/// also takes <c>text_embeds</c> and <c>time_ids</c>, as the SDXL UNet does; a union ControlNet also takes its control type
/// (<see cref="UnionControl"/>).
/// </summary>
public static class ControlNetGraph
{
    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, ControlNetArchitecture arch, string source, WeightBinding? binding = null)
    {
        var unet = arch.Encoder;
        var g = new GraphBuilder("controlnet");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var x = g.Input("sample", TensorElementType.Float, "batch", unet.InChannels, "height", "width");
        var timestep = g.Input("timestep", TensorElementType.Float, "batch");
        var context = g.Input("encoder_hidden_states", TensorElementType.Float, "batch", "sequence", unet.ContextWidth);
        var emb = UNetGraph.TimeEmbedding(n, unet, timestep);
        var cond = g.Input("controlnet_cond", TensorElementType.Float, "batch", arch.ConditioningChannels, "image_height", "image_width");
        var controlType = arch.Union is { } union ? g.Input(UnionControl.InputName, TensorElementType.Float, union.Types) : null;
        if (arch.Union is not null)
        {
            emb = UnionControl.AddEmbedding(n, arch.Union, emb, controlType!);
        }

        var hint = g.Silu(n.Conv(cond, "controlnet_cond_embedding.conv_in"));
        for (var b = 0; b < arch.HintChannels.Count - 2; b++)
        {
            hint = g.Silu(n.Conv(hint, $"controlnet_cond_embedding.blocks.{b}", b % 2 == 1 ? 2 : 1));
        }

        hint = n.Conv(hint, "controlnet_cond_embedding.conv_out");
        if (arch.Union is not null)
        {
            hint = UnionControl.Merge(n, arch.Union, hint, controlType!);
        }
        var h = g.Add(n.Conv(x, "conv_in"), hint);
        var residuals = new List<string> { n.Conv(h, "controlnet_down_blocks.0") };
        var levels = unet.LevelChannels.Count;
        for (var level = 0; level < levels; level++)
        {
            for (var j = 0; j < unet.ResBlocksPerLevel; j++)
            {
                h = UNetGraph.ResBlock(n, h, emb, $"down_blocks.{level}.resnets.{j}");
                if (unet.DownDepth(level, j) is > 0 and var depth)
                {
                    h = UNetGraph.Transformer(n, h, context, unet.LevelChannels[level], unet.HeadsAt(unet.LevelChannels[level]), $"down_blocks.{level}.attentions.{j}", depth);
                }

                residuals.Add(n.Conv(h, $"controlnet_down_blocks.{residuals.Count}"));
            }

            if (level != levels - 1)
            {
                h = n.Conv(h, $"down_blocks.{level}.downsamplers.0.conv", 2);
                residuals.Add(n.Conv(h, $"controlnet_down_blocks.{residuals.Count}"));
            }
        }

        h = UNetGraph.MiddleBlock(n, h, emb, context, unet);
        var mid = n.Conv(h, "controlnet_mid_block");

        var channels = ControlResiduals.SkipChannels(unet);
        for (var i = 0; i < residuals.Count; i++)
        {
            g.Output(residuals[i], ControlResiduals.Down(i), TensorElementType.Float, "batch", channels[i], $"down_block_{i}_height", $"down_block_{i}_width");
        }

        g.Output(mid, ControlResiduals.Mid, TensorElementType.Float, "batch", unet.LevelChannels[^1], "mid_height", "mid_width");
        return g.Build($"{(unet.AddedEmbeddingWidth > 0 ? "SDXL" : "SD 1.x")} ControlNet built from {Path.GetFileName(source)}: widths {string.Join("/", unet.LevelChannels)}, control image embedded in {arch.HintChannels.Count} convolutions ({arch.HintDownscale}× down){(arch.Union is { } u ? $", union of {u.Types} control types" : "")}.");
    }
}
