using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The M-LSD annotator (MobileV2_MLSD_Large) as ONNX. The input as <c>pred_lines</c> makes it: the RGB image and a
/// fourth channel of ones, all /127.5 − 1. The backbone: each convolution without bias, a BatchNorm in inference mode
/// (ε 1e-5) and ReLU6 (none after an inverted residual's last 1×1; its input added back when the stride is 1 and the
/// channels agree); stride-2 convolutions pad only the bottom and right by one (TFLite's padding). The decoder: BlockTypeA's
/// two 1×1 convolutions + BatchNorm + ReLU, the deeper map upscaled ×2 bilinearly with aligned corners and concatenated
/// after the skip map; BlockTypeB's 3×3 convolutions (the first added back to its input); BlockTypeC's 3×3 dilated by 5,
/// a 3×3 and the 1×1 to 16 channels, of which channels 7…11 (centre logits, then start x, y and end x, y displacements)
/// are the output. The decoding and drawing follow on the host.
/// </summary>
public static class MlsdGraph
{
    private const float Epsilon = 1e-5f;

    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("mlsd_large");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var image = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        var scale = g.Scalar(127.5f);
        var one = g.Scalar(1f);
        // The channel of ones (a zero plane of the image's size plus 1), normalised with the image below.
        var ones = g.Add(g.Mul(g.Slice(image, [0], [1], [1]), g.Scalar(0f)), one);
        var x = g.Sub(g.Div(g.Concat(1, image, ones), scale), one);

        x = Relu6(g, Norm(n, Conv(n, x, "backbone.features.0.0", stride: 2), "backbone.features.0.1"));
        var taps = new List<string>();
        foreach (var (index, inputs, hidden, outputs, stride, expands) in MlsdCheckpoint.Blocks())
        {
            var p = $"backbone.features.{index}.conv";
            var h = x;
            var j = 0;
            if (expands)
            {
                h = Relu6(g, Norm(n, Conv(n, h, $"{p}.0.0"), $"{p}.0.1"));
                j = 1;
            }

            h = Relu6(g, Norm(n, Conv(n, h, $"{p}.{j}.0", stride, groups: hidden), $"{p}.{j}.1"));
            h = Norm(n, Conv(n, h, $"{p}.{j + 1}"), $"{p}.{j + 2}");
            x = stride == 1 && inputs == outputs ? g.Add(x, h) : h;
            if (MlsdCheckpoint.Taps.Contains(index)) taps.Add(x);
        }

        x = taps[4];
        for (var m = 0; m < MlsdCheckpoint.Merges.Length; m++)
        {
            var (name, _, _, upscale) = MlsdCheckpoint.Merges[m];
            var deep = Relu(g, Norm(n, Conv(n, x, $"{name}.conv1.0"), $"{name}.conv1.1"));
            var skip = Relu(g, Norm(n, Conv(n, taps[3 - m], $"{name}.conv2.0"), $"{name}.conv2.1"));
            if (upscale)
            {
                deep = g.Node("Resize", [deep, string.Empty, g.Weight($"{name}_scales", [1, 1, 2, 2], 4)],
                    OnnxAttribute.String("mode", "linear"), OnnxAttribute.String("coordinate_transformation_mode", "align_corners"));
            }

            x = g.Concat(1, skip, deep);
            var b = $"block{16 + 2 * m}";
            x = g.Add(Relu(g, Norm(n, Conv(n, x, $"{b}.conv1.0"), $"{b}.conv1.1")), x);
            x = Relu(g, Norm(n, Conv(n, x, $"{b}.conv2.0"), $"{b}.conv2.1"));
        }

        x = Relu(g, Norm(n, Conv(n, x, "block23.conv1.0", dilation: 5), "block23.conv1.1"));
        x = Relu(g, Norm(n, Conv(n, x, "block23.conv2.0"), "block23.conv2.1"));
        x = g.Slice(Conv(n, x, "block23.conv3"), [7], [12], [1]);
        g.Output(x, "lines", TensorElementType.Float, 1, 5, "half_height", "half_width");
        return g.Build($"M-LSD annotator (MobileV2_MLSD_Large) built from {Path.GetFileName(source)}: centre logits and start/end displacements at half the input's size.");
    }

    // A convolution with the checkpoint's kernel; "same" padding (times the dilation) at stride 1, bottom/right only at stride 2.
    private static string Conv(NetworkGraph n, string x, string name, long stride = 1, long groups = 1, long dilation = 1)
    {
        var kernel = n.ShapeOf(name + ".weight")[2];
        var half = kernel / 2 * dilation;
        long[] pads = stride == 2 ? [0, 0, 1, 1] : [half, half, half, half];
        return n.G.Node(
            "Conv",
            n.Has(name + ".bias") ? [x, n.W(name + ".weight"), n.W(name + ".bias")] : [x, n.W(name + ".weight")],
            OnnxAttribute.Ints("kernel_shape", kernel, kernel),
            OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Ints("dilations", dilation, dilation),
            OnnxAttribute.Int("group", groups),
            OnnxAttribute.Ints("pads", pads));
    }

    private static string Norm(NetworkGraph n, string x, string name) => n.BatchNorm(x, name, Epsilon);

    private static string Relu(GraphBuilder g, string x) => g.Node("Relu", [x]);

    private static string Relu6(GraphBuilder g, string x) => g.Node("Clip", [x, g.Scalar(0f), g.Scalar(6f)]);
}
