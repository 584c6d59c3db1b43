using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// LeReS (AdelaiDepth's RelDepthModel, <c>res101.pth</c>) as ONNX, in eval mode, every BatchNorm eps 1e-5. Encoder:
/// ResNeXt-101 32x8d — conv 7×7/2 (pad 3), BatchNorm, ReLU, max pool 3×3/2 (pad 1), then bottlenecks (1×1, BatchNorm,
/// ReLU, 3×3 in 32 groups carrying the stride, BatchNorm, ReLU, 1×1, BatchNorm, plus the shortcut — 1×1 with the stride
/// and BatchNorm on each layer's first — and ReLU); each layer's output is a feature (1/4 … 1/32). Decoder: FTB on the
/// 1/32 feature, <c>conv1</c>, doubled (bilinear, aligned corners); three fusion modules (FTB of the skip plus the
/// deeper map, FTB, doubled); the output module (3×3, BatchNorm, ReLU, 3×3 to one channel, doubled). FTB: c = 3×3(x),
/// then ReLU(ReLU(c) + branch(c)) with branch = ReLU, 3×3, BatchNorm, ReLU, 3×3 — the published module adds c after its
/// branch's in-place ReLU has rectified it.
/// </summary>
public static class LeresGraph
{
    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("controlnet_leres");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        const string E = LeresCheckpoint.Encoder, D = LeresCheckpoint.Decoder;
        string Relu(string x) => g.Node("Relu", [x]);
        string Norm(string x, string name) => n.BatchNorm(x, name, LeresCheckpoint.Epsilon);

        var x = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");
        x = Relu(Norm(n.Conv(x, $"{E}conv1", stride: 2), $"{E}bn1"));
        x = g.Node("MaxPool", [x], OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("strides", 2, 2), OnnxAttribute.Ints("pads", 1, 1, 1, 1));
        var features = new List<string>();
        foreach (var (name, inputs, _, _, stride, project) in LeresCheckpoint.Bottlenecks())
        {
            // Each later layer's first bottleneck reads the previous layer's output: a feature.
            if (project && inputs != 64) features.Add(x);
            var y = Relu(Norm(n.Conv(x, $"{name}.conv1"), $"{name}.bn1"));
            y = Relu(Norm(n.Conv(y, $"{name}.conv2", stride, groups: LeresCheckpoint.Groups), $"{name}.bn2"));
            y = Norm(n.Conv(y, $"{name}.conv3"), $"{name}.bn3");
            var shortcut = project ? Norm(n.Conv(x, $"{name}.downsample.0", stride), $"{name}.downsample.1") : x;
            x = Relu(g.Add(y, shortcut));
        }

        features.Add(x);
        var d = DptFusion.Doubled(g, n.Conv(Ftb(n, features[3], $"{D}conv"), $"{D}conv1"));
        foreach (var (name, feature, _) in LeresCheckpoint.Fusions)
            d = DptFusion.Doubled(g, Ftb(n, g.Add(Ftb(n, features[feature], $"{D}{name}.ftb1"), d), $"{D}{name}.ftb2"));
        d = Relu(Norm(n.Conv(d, $"{D}outconv.adapt_conv.0"), $"{D}outconv.adapt_conv.1"));
        d = DptFusion.Doubled(g, n.Conv(d, $"{D}outconv.adapt_conv.3"));
        g.Output(d, "depth", TensorElementType.Float, 1, 1, "height", "width");
        return g.Build($"LeReS annotator (RelDepthModel, ResNeXt-101 32x8d encoder) built from {Path.GetFileName(source)}: relative depth at the input's size.");
    }

    // FTB: c = conv1(x); ReLU(ReLU(c) + conv_branch(c)), conv_branch = ReLU, 3×3, BatchNorm, ReLU, 3×3.
    private static string Ftb(NetworkGraph n, string x, string name)
    {
        var g = n.G;
        var c = g.Node("Relu", [n.Conv(x, $"{name}.conv1")]);
        var branch = n.Conv(g.Node("Relu", [n.BatchNorm(n.Conv(c, $"{name}.conv_branch.1"), $"{name}.conv_branch.2", LeresCheckpoint.Epsilon)]), $"{name}.conv_branch.4");
        return g.Node("Relu", [g.Add(c, branch)]);
    }
}
