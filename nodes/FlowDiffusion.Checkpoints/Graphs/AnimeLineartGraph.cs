using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The anime lineart annotator (netG.pth, pix2pix's UnetGenerator) as ONNX: the image / 127.5 − 1; the outermost block a
/// 4×4 stride-2 convolution, the blocks inside, ReLU, a 4×4 stride-2 transposed convolution to one channel and tanh; each
/// inner block LeakyReLU(0.2) of its input, the convolution (and an instance norm without weights, but in the innermost),
/// the blocks inside, ReLU, the transposed convolution and an instance norm, concatenated after the LeakyReLU'd input (the
/// published blocks' LeakyReLU works in place, so their skip reads it; the ReLU that follows makes it no different). The annotator's
/// · 127.5 + 127.5, truncation, resize and inversion follow on the host.
/// </summary>
public static class AnimeLineartGraph
{
    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("controlnet_lineart_anime");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var norm = new PlainInstanceNorm(g);
        long[] one = [1, 1, 1, 1];
        string Up(string x, string name) => g.Node("ConvTranspose", [g.Node("Relu", [x]), n.W(name + ".weight"), n.W(name + ".bias")],
            OnnxAttribute.Ints("kernel_shape", 4, 4), OnnxAttribute.Ints("strides", 2, 2), OnnxAttribute.Ints("pads", 1, 1, 1, 1));

        string Block(string x, int level)
        {
            var (outer, inner) = AnimeLineartCheckpoint.Levels[level];
            var prefix = AnimeLineartCheckpoint.Prefix(level);
            if (level == 0)
                return g.Tanh(Up(Block(n.Conv(x, $"{prefix}.0", stride: 2, pads: one), 1), $"{prefix}.3"));
            var activated = g.Node("LeakyRelu", [x], OnnxAttribute.Float("alpha", 0.2f));
            var down = n.Conv(activated, $"{prefix}.1", stride: 2, pads: one);
            var up = level == AnimeLineartCheckpoint.Levels.Length - 1
                ? Up(down, $"{prefix}.3")
                : Up(Block(norm.Apply(down, inner), level + 1), $"{prefix}.5");
            return g.Concat(1, activated, norm.Apply(up, outer));
        }

        var image = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        var line = Block(g.Sub(g.Div(image, g.Scalar(127.5f)), g.Scalar(1f)), 0);
        g.Output(line, "line", TensorElementType.Float, 1, 1, "height", "width");
        return g.Build($"ControlNet anime lineart annotator (pix2pix UnetGenerator) built from {Path.GetFileName(source)}: the tanh line map −1..1 at the input's size (multiples of 256).");
    }
}
