using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The HED annotator (ControlNetHED_Apache2) as ONNX: the image less <c>norm</c>; per block a 2×2 max pool (blocks 2–5),
/// its 3×3 convolutions each followed by ReLU, and its 1×1 projection to one channel; each projection resized to the
/// input's size bilinearly with half-pixel centres (OpenCV's INTER_LINEAR, edges clamped) and the five averaged. The
/// annotator's sigmoid, safe step and bytes follow on the host.
/// </summary>
public static class HedGraph
{
    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("controlnet_hed");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var image = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        var h = g.Sub(image, n.W("norm"));
        var spatial = g.Shape(image, 2);
        var sum = string.Empty;
        for (var b = 1; b <= HedCheckpoint.Blocks.Length; b++)
        {
            if (b > 1)
                h = g.Node("MaxPool", [h], OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2));
            for (var j = 0; j < HedCheckpoint.Blocks[b - 1].Convolutions; j++)
                h = g.Node("Relu", [n.Conv(h, $"block{b}.convs.{j}")]);
            var side = n.Conv(h, $"block{b}.projection");
            if (b > 1)
            {
                side = g.Node("Resize", [side, string.Empty, string.Empty, g.Concat(0, g.Shape(side, 0, 2), spatial)],
                    OnnxAttribute.String("mode", "linear"), OnnxAttribute.String("coordinate_transformation_mode", "half_pixel"));
            }

            sum = b == 1 ? side : g.Add(sum, side);
        }

        g.Output(g.Div(sum, g.Scalar(HedCheckpoint.Blocks.Length)), "edges", TensorElementType.Float, 1, 1, "height", "width");
        return g.Build($"ControlNet HED annotator (ControlNetHED_Apache2) built from {Path.GetFileName(source)}: the mean of its five side outputs at the input's size, before the sigmoid.");
    }
}
