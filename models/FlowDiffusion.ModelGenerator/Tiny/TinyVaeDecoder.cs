using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using FlowDiffusion.ModelGenerator.Weights;

namespace FlowDiffusion.ModelGenerator.Tiny;

/// <summary>A tiny AutoencoderKL decoder: post-quant conv, residual block, mid self-attention, three 2× nearest upsamples with convs.</summary>
internal static class TinyVaeDecoder
{
    public static OnnxModel Build()
    {
        var g = new GraphBuilder("tiny_vae_decoder");
        var layers = new Layers(g, new UniformInitializer(0x7E47_0004));
        var latent = g.Input("latent_sample", TensorElementType.Float, "batch", 4, "latent_height", "latent_width");

        var h = layers.Conv(layers.Conv(latent, 4, 4, 1, "post_quant_conv"), 4, 32, 3, "conv_in");
        h = layers.ResBlock(h, 32, 32, null, 0, "mid.resnet");
        h = layers.SpatialTransformer(h, 32, null, 0, 1, "mid.attention");
        h = layers.Conv(g.UpsampleNearest(h, 2f), 32, 32, 3, "up0.conv");
        h = layers.Conv(g.Silu(layers.GroupNorm(g.UpsampleNearest(h, 2f), 32, "up1.norm")), 32, 16, 3, "up1.conv");
        h = layers.Conv(g.Silu(layers.GroupNorm(g.UpsampleNearest(h, 2f), 16, "up2.norm")), 16, 16, 3, "up2.conv");
        var rgb = layers.Conv(g.Silu(layers.GroupNorm(h, 16, "conv_norm_out")), 16, 3, 3, "conv_out");

        // tanh keeps the random decoder's image inside [-1, 1], where a trained one lands approximately.
        g.Output(g.Tanh(rgb), "sample", TensorElementType.Float, "batch", 3, "height", "width");
        return g.Build("Tiny VAE decoder with deterministic random weights (for tests, not for images).");
    }
}
