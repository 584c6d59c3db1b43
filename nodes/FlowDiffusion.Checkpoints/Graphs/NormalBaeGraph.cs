using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// NormalBAE (Bae et al. 2021's NNET, <c>scannet.pt</c>) as ONNX, in eval mode. Encoder: geffnet's tf_efficientnet_b5_ap —
/// every convolution with TensorFlow's "same" padding (<c>auto_pad</c> SAME_UPPER: at stride 2 the odd row and column go
/// at the bottom and right), BatchNorm eps 1e-3, swish; depthwise-separable blocks (dw, bn, swish, SE, pw, bn) in the
/// first stage, inverted residuals (pw, bn, swish, dw, bn, swish, SE, pwl, bn) after, a residual where the block keeps
/// its size and channels; SE: the plane's mean, 1×1 + swish, 1×1, a sigmoid gate. Decoder: <c>conv2</c> on the head's
/// output (before bn2), <c>up1…up4</c> each resizing (bilinear, aligned corners) to the skip's size, concatenating it
/// and applying two 3×3 convolution + BatchNorm (eps 1e-5) + LeakyReLU 0.01; the 1/8 prediction from up2's output;
/// then at 1/4, 1/2 and 1/1 every pixel refined (the decoder's eval path): the feature map and the previous prediction
/// doubled (bilinear, aligned corners), concatenated, the MLP as 1×1 convolutions (ReLU between), each prediction
/// normalised (xyz / (|xyz| + 1e-10), κ = elu(κ) + 1.01, which the next stage reads). Output: the last prediction's xyz.
/// </summary>
public static class NormalBaeGraph
{
    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("controlnet_normal_bae");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        const string E = NormalBaeCheckpoint.Encoder;
        string Swish(string x) => g.Silu(x);
        string EncoderNorm(string x, string name) => Norm(n, x, name, NormalBaeCheckpoint.EncoderEpsilon);

        var x = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        x = Swish(EncoderNorm(SameConv(n, x, $"{E}conv_stem", 2), $"{E}bn1"));
        var stageEnds = new List<string>();
        foreach (var (name, separable, inputs, mid, outputs, _, stride) in NormalBaeCheckpoint.Blocks())
        {
            string y;
            if (separable)
            {
                y = Swish(EncoderNorm(SameConv(n, x, $"{name}.conv_dw", stride, inputs), $"{name}.bn1"));
                y = EncoderNorm(SameConv(n, SqueezeExcite(n, y, $"{name}.se"), $"{name}.conv_pw"), $"{name}.bn2");
            }
            else
            {
                y = Swish(EncoderNorm(SameConv(n, x, $"{name}.conv_pw"), $"{name}.bn1"));
                y = Swish(EncoderNorm(SameConv(n, y, $"{name}.conv_dw", stride, mid), $"{name}.bn2"));
                y = EncoderNorm(SameConv(n, SqueezeExcite(n, y, $"{name}.se"), $"{name}.conv_pwl"), $"{name}.bn3");
            }

            x = stride == 1 && inputs == outputs ? g.Add(y, x) : y;
            var stage = int.Parse(name.Split('.')[^2], System.Globalization.CultureInfo.InvariantCulture);
            if (name.EndsWith($".{NormalBaeCheckpoint.Stages[stage].Blocks - 1}", StringComparison.Ordinal)) stageEnds.Add(x);
        }

        var d = n.Conv(SameConv(n, x, $"{E}conv_head"), "decoder.conv2");
        var ups = new List<string>();
        for (var i = 0; i < NormalBaeCheckpoint.UpFeatures.Length; i++)
        {
            var skip = stageEnds[NormalBaeCheckpoint.SkipStages[^(i + 1)]];
            var prefix = $"decoder.up{i + 1}._net.";
            d = g.Concat(1, DptFusion.AlignedResize(g, d, g.Shape(skip, 2, 4)), skip);
            d = LeakyRelu(g, Norm(n, n.Conv(d, prefix + "0"), prefix + "1", NormalBaeCheckpoint.DecoderEpsilon));
            d = LeakyRelu(g, Norm(n, n.Conv(d, prefix + "3"), prefix + "4", NormalBaeCheckpoint.DecoderEpsilon));
            ups.Add(d);
        }

        var prediction = Normalise(g, n.Conv(ups[1], "decoder.out_conv_res8"));
        foreach (var (name, up) in NormalBaeCheckpoint.Refinements)
        {
            var h = g.Concat(1, DptFusion.Doubled(g, ups[up]), DptFusion.Doubled(g, prediction));
            for (var j = 0; j < 4; j++)
            {
                var layer = $"decoder.{name}.{2 * j}";
                // The Conv1d over all pixels as a 1×1 Conv2d: its [out, in, 1] weight gains a trailing axis.
                h = g.Node("Conv", [h, g.Unsqueeze(n.W(layer + ".weight"), 3), n.W(layer + ".bias")], OnnxAttribute.Ints("kernel_shape", 1, 1));
                if (j < 3) h = g.Node("Relu", [h]);
            }

            prediction = Normalise(g, h);
        }

        g.Output(g.Slice(prediction, [0], [3], [1]), "normal", TensorElementType.Float, 1, 3, "height", "width");
        return g.Build($"NormalBAE annotator (NNET, tf_efficientnet_b5_ap encoder) built from {Path.GetFileName(source)}: the unit surface normal (x, y, z) at the input's size, every pixel refined.");
    }

    // A bias-free (or biased) convolution with TensorFlow's "same" padding; groups for the depthwise ones.
    private static string SameConv(NetworkGraph n, string x, string name, long stride = 1, long groups = 1)
    {
        var kernel = n.ShapeOf(name + ".weight")[2];
        return n.G.Node(
            "Conv",
            n.Has(name + ".bias") ? [x, n.W(name + ".weight"), n.W(name + ".bias")] : [x, n.W(name + ".weight")],
            OnnxAttribute.Ints("kernel_shape", kernel, kernel),
            OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Int("group", groups),
            OnnxAttribute.String("auto_pad", "SAME_UPPER"));
    }

    private static string Norm(NetworkGraph n, string x, string name, float epsilon) => n.G.Node(
        "BatchNormalization",
        [x, n.W(name + ".weight"), n.W(name + ".bias"), n.W(name + ".running_mean"), n.W(name + ".running_var")],
        OnnxAttribute.Float("epsilon", epsilon));

    // geffnet's SqueezeExcite: the plane's mean, conv_reduce, swish, conv_expand, a sigmoid gate on x.
    private static string SqueezeExcite(NetworkGraph n, string x, string name)
    {
        var g = n.G;
        var s = g.Node("ReduceMean", [x], OnnxAttribute.Ints("axes", 2, 3), OnnxAttribute.Int("keepdims", 1));
        s = n.Conv(g.Silu(n.Conv(s, name + ".conv_reduce")), name + ".conv_expand");
        return g.Mul(x, g.Sigmoid(s));
    }

    private static string LeakyRelu(GraphBuilder g, string x) => g.Node("LeakyRelu", [x], OnnxAttribute.Float("alpha", 0.01f));

    // norm_normalize: xyz over its length + 1e-10, κ as elu(κ) + 1 + 0.01 (two float32 additions, as torch).
    private static string Normalise(GraphBuilder g, string prediction)
    {
        var xyz = g.Slice(prediction, [0], [3], [1]);
        var kappa = g.Slice(prediction, [3], [4], [1]);
        var length = g.Add(g.Sqrt(g.ReduceSum(g.Mul(xyz, xyz), [1], keepDims: true)), g.Scalar(1e-10f));
        return g.Concat(1, g.Div(xyz, length), g.Add(g.Add(g.Node("Elu", [kappa]), g.Scalar(1f)), g.Scalar(0.01f)));
    }
}
