using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The OpenPose hand and face networks (<see cref="OpenPoseCpmLayout"/>) as ONNX: <see cref="OpenPoseTrunkGraph"/>; stage 1
/// on the trunk's features, stages 2–6 on the previous stage's heatmaps and the features (concatenated in that order).
/// Every convolution is followed by ReLU except each stage's last (the published models' <c>conv6_2_CPM</c>,
/// <c>Mconv7_stage2…6</c>); the output is stage 6's heatmaps at 1/8 of the input.
/// </summary>
public static class OpenPoseCpmGraph
{
    /// <summary>Builds the graph <paramref name="name"/> with <paramref name="heatmaps"/> heatmap channels (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(string name, int heatmaps, IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding, string description)
    {
        var g = new GraphBuilder(name);
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var features = OpenPoseTrunkGraph.Build(g, n, OpenPoseCpmLayout.Trunk.Select(c => c.Name), OpenPoseCpmLayout.PooledAfter);
        var maps = string.Empty;
        for (var stage = 1; stage <= 6; stage++)
        {
            var x = stage == 1 ? features : g.Concat(1, maps, features);
            var layers = OpenPoseCpmLayout.Stage(stage, heatmaps).ToList();
            for (var i = 0; i < layers.Count; i++)
            {
                x = n.Conv(x, layers[i].Name);
                if (i < layers.Count - 1) x = g.Node("Relu", [x]);
            }

            maps = x;
        }

        g.Output(maps, "heatmaps", TensorElementType.Float, 1, heatmaps, "rows", "columns");
        return g.Build(description);
    }
}
