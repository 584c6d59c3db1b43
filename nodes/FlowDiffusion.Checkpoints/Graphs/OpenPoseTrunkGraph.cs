using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The VGG trunk every OpenPose network (body, hand, face) opens with, as ONNX: the <c>image</c> input [1, 3, h, w] (RGB
/// 0..255), its channels reversed to the BGR the annotators feed, ÷ 256 − 0.5; then each 3×3 convolution of the trunk
/// followed by ReLU, with a 2×2 max pool after the ones listed as pooled.
/// </summary>
internal static class OpenPoseTrunkGraph
{
    /// <summary>Adds the input and the trunk to <paramref name="g"/>; returns the features' name.</summary>
    public static string Build(GraphBuilder g, NetworkGraph n, IEnumerable<string> trunk, IReadOnlyCollection<string> pooledAfter)
    {
        var image = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        var bgr = g.Gather(image, g.Int64s(2, 1, 0), 1);
        var h = g.Sub(g.Div(bgr, g.Scalar(256)), g.Scalar(0.5f));
        foreach (var name in trunk)
        {
            h = g.Node("Relu", [n.Conv(h, name)]);
            if (pooledAfter.Contains(name))
                h = g.Node("MaxPool", [h], OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2));
        }

        return h;
    }
}
