using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The PiDiNet annotator (table5_pidinet.pth: 'carv4', CDCM, CSAM) as ONNX: the RGB 0..255 image as BGR / 255 (as the
/// annotators feed it); the init block and each block's depthwise convolution with their pixel-difference weights converted
/// to vanilla kernels (<see cref="PixelDifferenceKernels"/>) at build time; blocks of depthwise conv → ReLU → 1×1 plus the
/// input (2×2 max pool and a 1×1 shortcut where a stage starts); per stage CDCM (ReLU, 1×1, four dilated 3×3 summed), CSAM
/// (x · sigmoid(3×3(1×1(ReLU x)))) and a 1×1 reduction, resized to the input bilinearly (half-pixel centres, as
/// F.interpolate's align_corners=False); the classifier over the four and its sigmoid: the output the annotators use.
/// </summary>
public static class PidinetGraph
{
    /// <summary>Builds the graph (unconverted weights embedded unless <paramref name="binding"/> says otherwise; converted ones are always embedded).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("controlnet_pidinet");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var image = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        var spatial = g.Shape(image, 2);
        var h = g.Div(g.Gather(image, g.Int64s(2, 1, 0), 1), g.Scalar(255f));
        h = Pdc(g, weights, h, "init_block.weight", PidinetCheckpoint.Pdcs[0], 1);
        var stages = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var b = 0; b < PidinetCheckpoint.Blocks.Length; b++)
        {
            var (name, inputs, _, pools) = PidinetCheckpoint.Blocks[b];
            if (pools) h = g.Node("MaxPool", [h], OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2));
            var y = g.Node("Relu", [Pdc(g, weights, h, $"{name}.conv1.weight", PidinetCheckpoint.Pdcs[b + 1], inputs)]);
            y = Conv(g, y, n.W($"{name}.conv2.weight"), null, 1);
            h = g.Add(y, pools ? Conv(g, h, n.W($"{name}.shortcut.weight"), n.W($"{name}.shortcut.bias"), 1) : h);
            stages[name] = h;
        }

        var sides = new string[PidinetCheckpoint.StageEnds.Length];
        for (var i = 0; i < sides.Length; i++)
        {
            var x = Conv(g, g.Node("Relu", [stages[PidinetCheckpoint.StageEnds[i]]]), n.W($"dilations.{i}.conv1.weight"), n.W($"dilations.{i}.conv1.bias"), 1);
            var sum = string.Empty;
            for (var k = 0; k < PidinetCheckpoint.Dilations.Length; k++)
            {
                var dilated = Conv(g, x, n.W($"dilations.{i}.conv2_{k + 1}.weight"), null, 3, PidinetCheckpoint.Dilations[k]);
                sum = k == 0 ? dilated : g.Add(sum, dilated);
            }

            var attention = Conv(g, g.Node("Relu", [sum]), n.W($"attentions.{i}.conv1.weight"), n.W($"attentions.{i}.conv1.bias"), 1);
            attention = g.Sigmoid(Conv(g, attention, n.W($"attentions.{i}.conv2.weight"), null, 3));
            var side = Conv(g, g.Mul(sum, attention), n.W($"conv_reduces.{i}.conv.weight"), n.W($"conv_reduces.{i}.conv.bias"), 1);
            sides[i] = i == 0 ? side : g.Node("Resize", [side, string.Empty, string.Empty, g.Concat(0, g.Shape(side, 0, 2), spatial)],
                OnnxAttribute.String("mode", "linear"), OnnxAttribute.String("coordinate_transformation_mode", "half_pixel"));
        }

        var fused = Conv(g, g.Concat(1, sides), n.W("classifier.weight"), n.W("classifier.bias"), 1);
        g.Output(g.Sigmoid(fused), "edges", TensorElementType.Float, 1, 1, "height", "width");
        return g.Build($"ControlNet PiDiNet annotator (table5_pidinet, carv4) built from {Path.GetFileName(source)}: the sigmoid of its fused output at the input's size.");
    }

    // A pixel-difference convolution (depthwise where groups > 1), its weights converted to a vanilla kernel here.
    private static string Pdc(GraphBuilder g, IReadOnlyDictionary<string, StoredTensor> weights, string x, string name, string pdc, long groups)
    {
        var stored = weights[name];
        var size = PixelDifferenceKernels.Size(pdc);
        var kernel = g.Weight($"{name}.{pdc}_converted", PixelDifferenceKernels.Convert(pdc, stored.ReadFloat32(), stored.Shape[0] * stored.Shape[1]),
            stored.Shape[0], stored.Shape[1], size, size);
        return Conv(g, x, kernel, null, size, groups: groups);
    }

    private static string Conv(GraphBuilder g, string x, string weight, string? bias, long kernel, long dilation = 1, long groups = 1)
    {
        var pad = dilation * (kernel / 2);
        return g.Node("Conv", bias is null ? [x, weight] : [x, weight, bias],
            OnnxAttribute.Ints("kernel_shape", kernel, kernel), OnnxAttribute.Ints("pads", pad, pad, pad, pad),
            OnnxAttribute.Ints("dilations", dilation, dilation), OnnxAttribute.Int("group", groups));
    }
}
