using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The lineart annotators' generator (sk_model.pth, sk_model2.pth) as ONNX: the image / 255; a reflection pad of 3 and
/// the 7×7 convolution; two stride-2 3×3 convolutions (padding 1); three residual blocks x + IN(conv(pad(ReLU(IN(conv(pad(x))))))),
/// reflection pads of 1; two stride-2 transposed convolutions (padding 1, output padding 1); each convolution but the
/// residual blocks' second and the last followed by an instance norm without weights and ReLU; a reflection pad of 3,
/// the 7×7 convolution to one channel and the sigmoid. The annotator's × 255, truncation and inversion follow on the host.
/// </summary>
public static class LineartGraph
{
    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("controlnet_lineart");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var norm = new PlainInstanceNorm(g);
        long[] none = [0, 0, 0, 0];
        string Reflect(string x, long p) => g.Node("Pad", [x, g.Int64s(0, 0, p, p, 0, 0, p, p)], OnnxAttribute.String("mode", "reflect"));
        string NormRelu(string x, long channels) => g.Node("Relu", [norm.Apply(x, channels)]);
        string Transposed(string x, string name, long outputs) => NormRelu(g.Node("ConvTranspose", [x, n.W(name + ".weight"), n.W(name + ".bias")],
            OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("strides", 2, 2), OnnxAttribute.Ints("pads", 1, 1, 1, 1),
            OnnxAttribute.Ints("output_padding", 1, 1)), outputs);

        var image = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        var h = NormRelu(n.Conv(Reflect(g.Div(image, g.Scalar(255f)), 3), "model0.1", pads: none), 64);
        h = NormRelu(n.Conv(h, "model1.0", stride: 2), 128);
        h = NormRelu(n.Conv(h, "model1.3", stride: 2), 256);
        for (var b = 0; b < LineartCheckpoint.ResidualBlocks; b++)
        {
            var inner = NormRelu(n.Conv(Reflect(h, 1), $"model2.{b}.conv_block.1", pads: none), 256);
            h = g.Add(h, norm.Apply(n.Conv(Reflect(inner, 1), $"model2.{b}.conv_block.5", pads: none), 256));
        }

        h = Transposed(h, "model3.0", 128);
        h = Transposed(h, "model3.3", 64);
        var line = g.Sigmoid(n.Conv(Reflect(h, 3), "model4.1", pads: none));
        g.Output(line, "line", TensorElementType.Float, 1, 1, "height", "width");
        return g.Build($"ControlNet lineart annotator (informative-drawings' Generator) built from {Path.GetFileName(source)}: the line map 0..1 at the input's size.");
    }
}
