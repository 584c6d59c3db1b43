using FlowDiffusion.Checkpoints.Taesd;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// TAESD's halves as ONNX graphs with the diffusers-ONNX VAE's inputs and outputs, the latent scale inside as ComfyUI
/// applies it (<c>comfy/taesd/taesd.py</c>): the decoder multiplies <c>latent_sample</c> by the scaling factor, runs the
/// network (its first layer <c>tanh(x / 3) · 3</c>) and maps its [0, 1] output to [-1, 1] as <c>(y − 0.5) · 2</c>; the
/// encoder maps <c>sample</c> to [0, 1] as <c>x · 0.5 + 0.5</c>, runs the network and divides by the factor.
/// </summary>
public static class TaesdGraph
{
    /// <summary>Builds <paramref name="part"/> (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, TaesdPart part, float scalingFactor, string source, WeightBinding? binding = null)
    {
        var encoder = part == TaesdPart.Encoder;
        var g = new GraphBuilder(encoder ? "taesd_encoder" : "taesd_decoder");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        string h;
        if (encoder)
        {
            var x = g.Input("sample", TensorElementType.Float, "batch", 3, "height", "width");
            h = g.Add(g.Mul(x, g.Scalar(0.5f)), g.Scalar(0.5f));
        }
        else
        {
            var z = g.Input("latent_sample", TensorElementType.Float, "batch", TaesdCheckpoint.LatentChannels, "latent_height", "latent_width");
            h = g.Mul(z, g.Scalar(scalingFactor));
        }

        var layers = TaesdCheckpoint.Layers(part);
        for (var i = 0; i < layers.Count; i++)
        {
            h = layers[i].Kind switch
            {
                TaesdLayerKind.Clamp => g.Mul(g.Tanh(g.Div(h, g.Scalar(3f))), g.Scalar(3f)),
                TaesdLayerKind.Conv => n.Conv(h, $"{i}"),
                TaesdLayerKind.StridedConv => n.Conv(h, $"{i}", 2),
                TaesdLayerKind.Relu => Relu(g, h),
                TaesdLayerKind.Block => Block(n, h, $"{i}"),
                TaesdLayerKind.Upsample => g.UpsampleNearest(h, 2f),
                _ => throw new InvalidOperationException($"TAESD layer {layers[i].Kind} has no graph"),
            };
        }

        if (encoder)
        {
            g.Output(g.Div(h, g.Scalar(scalingFactor)), "latent_sample", TensorElementType.Float, "batch", TaesdCheckpoint.LatentChannels, "latent_height", "latent_width");
            return g.Build($"TAESD encoder built from {Path.GetFileName(source)}: sample in [-1, 1] → latents divided by {scalingFactor}.");
        }

        g.Output(g.Mul(g.Sub(h, g.Scalar(0.5f)), g.Scalar(2f)), "sample", TensorElementType.Float, "batch", 3, "height", "width");
        return g.Build($"TAESD decoder built from {Path.GetFileName(source)}: latents divided by {scalingFactor} → sample in [-1, 1].");
    }

    private static string Relu(GraphBuilder g, string x) => g.Node("Relu", [x]);

    // conv-ReLU-conv-ReLU-conv plus the input (64 → 64: no skip convolution), then ReLU.
    private static string Block(NetworkGraph n, string x, string name)
    {
        var g = n.G;
        var h = n.Conv(Relu(g, n.Conv(Relu(g, n.Conv(x, name + ".conv.0")), name + ".conv.2")), name + ".conv.4");
        return Relu(g, g.Add(h, x));
    }
}
