using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The OpenPose hand network as ONNX: the RGB image's channels reversed to the BGR the annotator feeds, ÷ 256 − 0.5;
/// the trunk's 3×3 convolutions each followed by ReLU with 2×2 max pools; stage 1 on the trunk's features, stages 2–6 on
/// the previous stage's heatmaps and the features (concatenated in that order). Every convolution is followed by ReLU
/// except each stage's last (the published model's <c>no_relu_layers</c>: <c>conv6_2_CPM</c>, <c>Mconv7_stage2…6</c>).
/// </summary>
public static class OpenPoseHandGraph
{
    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("openpose_hand");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var image = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        var bgr = g.Gather(image, g.Int64s(2, 1, 0), 1);
        var h = g.Sub(g.Div(bgr, g.Scalar(256)), g.Scalar(0.5f));
        foreach (var (name, _, _) in OpenPoseHandCheckpoint.Trunk)
        {
            h = g.Node("Relu", [n.Conv(h, name)]);
            if (OpenPoseHandCheckpoint.PooledAfter.Contains(name))
                h = g.Node("MaxPool", [h], OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2));
        }

        var features = h;
        var heatmaps = string.Empty;
        for (var stage = 1; stage <= 6; stage++)
        {
            var x = stage == 1 ? features : g.Concat(1, heatmaps, features);
            var layers = OpenPoseHandCheckpoint.Stage(stage).ToList();
            for (var i = 0; i < layers.Count; i++)
            {
                x = n.Conv(x, layers[i].Name);
                if (i < layers.Count - 1) x = g.Node("Relu", [x]);
            }

            heatmaps = x;
        }

        g.Output(heatmaps, "heatmaps", TensorElementType.Float, 1, OpenPoseHandCheckpoint.HeatmapChannels, "rows", "columns");
        return g.Build($"OpenPose hand annotator built from {Path.GetFileName(source)}: stage 6's heatmaps at 1/8 of the input.");
    }
}
