using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The SD VAE as two ONNX graphs: the encoder (<c>sample</c> in [-1, 1] → <c>latent_parameters</c>, mean then
/// log-variance, before the scaling factor) and the decoder (<c>latent_sample</c>, already divided by the scaling
/// factor → <c>sample</c>), with the checkpoint's tensors under their diffusers names.
/// </summary>
public static class VaeGraphs
{
    private const float Epsilon = 1e-6f;

    /// <summary>Builds the encoder (including <c>quant_conv</c>); weights embedded unless <paramref name="binding"/> says otherwise.</summary>
    public static OnnxModel BuildEncoder(IReadOnlyDictionary<string, StoredTensor> weights, VaeArchitecture arch, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("vae_encoder");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var x = g.Input("sample", TensorElementType.Float, "batch", arch.ImageChannels, "height", "width");
        var h = n.Conv(x, "encoder.conv_in");
        for (var level = 0; level < arch.LevelChannels.Count; level++)
        {
            for (var j = 0; j < arch.ResBlocksPerLevel; j++)
            {
                h = ResBlock(n, h, $"encoder.down_blocks.{level}.resnets.{j}");
            }

            if (level != arch.LevelChannels.Count - 1)
            {
                // LDM pads right and bottom by one, then convolves 3×3 with stride 2 and no padding.
                h = n.Conv(h, $"encoder.down_blocks.{level}.downsamplers.0.conv", 2, [0, 0, 1, 1]);
            }
        }

        h = Middle(n, h, "encoder.mid_block", arch.LevelChannels[^1]);
        h = n.Conv(g.Silu(n.GroupNorm(h, "encoder.conv_norm_out", Epsilon)), "encoder.conv_out");
        var moments = n.Conv(h, "quant_conv");
        g.Output(moments, "latent_parameters", TensorElementType.Float, "batch", 2 * arch.LatentChannels, "latent_height", "latent_width");
        return g.Build($"VAE encoder built from {Path.GetFileName(source)}.");
    }

    /// <summary>Builds the decoder (including <c>post_quant_conv</c>); weights embedded unless <paramref name="binding"/> says otherwise.</summary>
    public static OnnxModel BuildDecoder(IReadOnlyDictionary<string, StoredTensor> weights, VaeArchitecture arch, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("vae_decoder");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var z = g.Input("latent_sample", TensorElementType.Float, "batch", arch.LatentChannels, "latent_height", "latent_width");
        var h = n.Conv(n.Conv(z, "post_quant_conv"), "decoder.conv_in");
        h = Middle(n, h, "decoder.mid_block", arch.LevelChannels[^1]);
        var levels = arch.LevelChannels.Count;
        for (var up = 0; up < levels; up++)
        {
            for (var j = 0; j <= arch.ResBlocksPerLevel; j++)
            {
                h = ResBlock(n, h, $"decoder.up_blocks.{up}.resnets.{j}");
            }

            if (up != levels - 1)
            {
                h = n.Conv(g.UpsampleNearest(h, 2f), $"decoder.up_blocks.{up}.upsamplers.0.conv");
            }
        }

        h = n.Conv(g.Silu(n.GroupNorm(h, "decoder.conv_norm_out", Epsilon)), "decoder.conv_out");
        g.Output(h, "sample", TensorElementType.Float, "batch", arch.ImageChannels, "height", "width");
        return g.Build($"VAE decoder built from {Path.GetFileName(source)}.");
    }

    private static string Middle(NetworkGraph n, string h, string name, int channels)
    {
        h = ResBlock(n, h, name + ".resnets.0");
        h = Attention(n, h, name + ".attentions.0", channels);
        return ResBlock(n, h, name + ".resnets.1");
    }

    private static string ResBlock(NetworkGraph n, string x, string name)
    {
        var g = n.G;
        var h = n.Conv(g.Silu(n.GroupNorm(x, name + ".norm1", Epsilon)), name + ".conv1");
        h = n.Conv(g.Silu(n.GroupNorm(h, name + ".norm2", Epsilon)), name + ".conv2");
        var shortcut = n.Has(name + ".conv_shortcut.weight") ? n.Conv(x, name + ".conv_shortcut") : x;
        return g.Add(shortcut, h);
    }

    private static string Attention(NetworkGraph n, string x, string name, int channels)
    {
        var sequence = n.ToSequence(n.GroupNorm(x, name + ".group_norm", Epsilon), channels);
        var attended = n.Attention(n.Linear(sequence, name + ".to_q"), n.Linear(sequence, name + ".to_k"), n.Linear(sequence, name + ".to_v"), channels, 1);
        return n.G.Add(x, n.ToMap(n.Linear(attended, name + ".to_out.0"), x));
    }
}
