using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using FlowDiffusion.ModelGenerator.Weights;

namespace FlowDiffusion.ModelGenerator.Tiny;

/// <summary>
/// A one-level SD-style UNet: sinusoidal timestep embedding, residual blocks, a downsample, a transformer block with
/// self- and cross-attention at the lower resolution, an upsample with a skip connection.
/// </summary>
internal static class TinyUNet
{
    private const int Channels = 32;
    private const int InnerChannels = 64;
    private const int TimeWidth = 64;
    private const int FrequencyCount = 16;

    public static OnnxModel Build()
    {
        var g = new GraphBuilder("tiny_unet");
        var layers = new Layers(g, new UniformInitializer(0x7E47_0002));
        var sample = g.Input("sample", TensorElementType.Float, "batch", 4, "height", "width");
        var timestep = g.Input("timestep", TensorElementType.Int64, "batch");
        var context = g.Input("encoder_hidden_states", TensorElementType.Float, "batch", "sequence", TinyTextEncoder.Width);

        var time = layers.Linear(g.Silu(layers.Linear(TimestepEmbedding(g, timestep), 2 * FrequencyCount, TimeWidth, "time_embedding.linear_1")), TimeWidth, TimeWidth, "time_embedding.linear_2");

        var h = layers.Conv(sample, 4, Channels, 3, "conv_in");
        var skip = layers.ResBlock(h, Channels, Channels, time, TimeWidth, "down.resnet");
        var low = layers.Conv(skip, Channels, InnerChannels, 3, "down.downsample", stride: 2);
        low = layers.ResBlock(low, InnerChannels, InnerChannels, time, TimeWidth, "mid.resnet");
        low = layers.SpatialTransformer(low, InnerChannels, context, TinyTextEncoder.Width, 2, "mid.attention");
        var up = g.Concat(1, g.ResizeNearestLike(low, skip), skip);
        up = layers.ResBlock(up, InnerChannels + Channels, Channels, time, TimeWidth, "up.resnet");
        var output = layers.Conv(g.Silu(layers.GroupNorm(up, Channels, "conv_norm_out")), Channels, 4, 3, "conv_out");

        g.Output(output, "out_sample", TensorElementType.Float, "batch", 4, "height", "width");
        return g.Build("Tiny SD-style UNet with deterministic random weights (for tests, not for images).");
    }

    /// <summary>[cos(t·f_i) ‖ sin(t·f_i)] with f_i = 10000^(−i/16), as diffusers' Timesteps with flip_sin_to_cos.</summary>
    private static string TimestepEmbedding(GraphBuilder g, string timestep)
    {
        var frequencies = Enumerable.Range(0, FrequencyCount).Select(i => (float)Math.Exp(-Math.Log(10000) * i / FrequencyCount)).ToArray();
        var t = g.Unsqueeze(g.Cast(timestep, TensorElementType.Float), 1);
        var arguments = g.Mul(t, g.Weight("time_frequencies", frequencies, 1, FrequencyCount));
        return g.Concat(1, g.Cos(arguments), g.Sin(arguments));
    }
}
