using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The OpenPose body network as ONNX: <see cref="OpenPoseTrunkGraph"/> on the body trunk; six stages of two branches on the trunk's
/// features (stages 2–6 on the previous stage's PAFs, heatmaps and the features, concatenated in that order). Every
/// convolution is followed by ReLU except each branch's last, as the published model's <c>no_relu_layers</c> says — which
/// lists <c>Mconv7_stage6_L1</c> twice and not <c>Mconv7_stage6_L2</c>, so the final heatmaps do pass a ReLU.
/// </summary>
public static class OpenPoseBodyGraph
{
    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("openpose_body");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var features = OpenPoseTrunkGraph.Build(g, n, OpenPoseBodyCheckpoint.Trunk.Select(c => c.Name), OpenPoseBodyCheckpoint.PooledAfter);
        string pafs = string.Empty, heatmaps = string.Empty;
        for (var stage = 1; stage <= 6; stage++)
        {
            var input = stage == 1 ? features : g.Concat(1, pafs, heatmaps, features);
            pafs = Branch(g, n, input, stage, 1, relu: false);
            heatmaps = Branch(g, n, input, stage, 2, relu: stage == 6);
        }

        g.Output(pafs, "pafs", TensorElementType.Float, 1, OpenPoseBodyCheckpoint.PafChannels, "rows", "columns");
        g.Output(heatmaps, "heatmaps", TensorElementType.Float, 1, OpenPoseBodyCheckpoint.HeatmapChannels, "rows", "columns");
        return g.Build($"OpenPose body annotator built from {Path.GetFileName(source)}: stage 6's part affinity fields and heatmaps at 1/8 of the input.");
    }

    // One branch; its last convolution ReLU'd only where the published model leaves it out of no_relu_layers.
    private static string Branch(GraphBuilder g, NetworkGraph n, string x, int stage, int branch, bool relu)
    {
        var layers = OpenPoseBodyCheckpoint.Branch(stage, branch).ToList();
        for (var i = 0; i < layers.Count; i++)
        {
            x = n.Conv(x, layers[i].Name);
            if (i < layers.Count - 1 || relu) x = g.Node("Relu", [x]);
        }

        return x;
    }
}
