using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using FlowDiffusion.ModelGenerator.Weights;

namespace FlowDiffusion.ModelGenerator.Tiny;

/// <summary>A tiny AutoencoderKL encoder: three stride-2 convolutions (8× down), a residual block, mid self-attention, quant conv.</summary>
internal static class TinyVaeEncoder
{
    public static OnnxModel Build(VaeEncoderOutput output)
    {
        var g = new GraphBuilder("tiny_vae_encoder");
        var layers = new Layers(g, new UniformInitializer(0x7E47_0003));
        var image = g.Input("sample", TensorElementType.Float, "batch", 3, "height", "width");

        var h = layers.Conv(image, 3, 16, 3, "conv_in");
        h = layers.Conv(g.Silu(layers.GroupNorm(h, 16, "down0.norm")), 16, 16, 3, "down0.downsample", stride: 2);
        h = layers.Conv(g.Silu(layers.GroupNorm(h, 16, "down1.norm")), 16, 32, 3, "down1.downsample", stride: 2);
        h = layers.Conv(g.Silu(layers.GroupNorm(h, 32, "down2.norm")), 32, 32, 3, "down2.downsample", stride: 2);
        h = layers.ResBlock(h, 32, 32, null, 0, "mid.resnet");
        h = layers.SpatialTransformer(h, 32, null, 0, 1, "mid.attention");
        var moments = layers.Conv(g.Silu(layers.GroupNorm(h, 32, "conv_norm_out")), 32, 8, 3, "conv_out", gain: 0.5);
        moments = layers.Conv(moments, 8, 8, 1, "quant_conv");

        if (output == VaeEncoderOutput.LatentParameters)
        {
            g.Output(moments, "latent_parameters", TensorElementType.Float, "batch", 8, "latent_height", "latent_width");
        }
        else
        {
            g.Output(g.Slice(moments, [0], [4], [1]), "latent_sample", TensorElementType.Float, "batch", 4, "latent_height", "latent_width");
        }

        return g.Build("Tiny VAE encoder with deterministic random weights (for tests, not for images).");
    }
}
