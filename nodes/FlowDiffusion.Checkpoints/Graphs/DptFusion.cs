using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The DPT head's shared scratch (MiDaS v3 <c>DPTDepthModel</c> and Depth Anything's <c>DPTHead</c>): the bias-free
/// 3 × 3 <c>layerN_rn</c> convolutions on the four reassembled maps, then the four fusion blocks
/// (<c>FeatureFusionBlock_custom</c>, no batch norm): refinenet4 on layer 4 alone, each next one adding
/// <c>resConfUnit1</c>(its skip) to the path, then <c>resConfUnit2</c>, a bilinear align-corners resize to the next
/// map's size (× 2 for the last), and the 1 × 1 <c>out_conv</c>. The residual units are ReLU → conv → ReLU → conv + input.
/// </summary>
internal static class DptFusion
{
    /// <summary>The fused path (refinenet1's output, twice the size of <paramref name="maps"/>[0]) from the four maps, weights under <paramref name="scratch"/> (ending in a dot).</summary>
    public static string Fuse(NetworkGraph n, string scratch, IReadOnlyList<string> maps)
    {
        var g = n.G;
        var layers = new string[4];
        for (var k = 0; k < 4; k++)
        {
            layers[k] = g.Node("Conv", [maps[k], n.W($"{scratch}layer{k + 1}_rn.weight")],
                OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("pads", 1, 1, 1, 1));
        }

        var path = Fusion(n, $"{scratch}refinenet4.", layers[3], null, g.Shape(layers[2], 2, 4));
        path = Fusion(n, $"{scratch}refinenet3.", path, layers[2], g.Shape(layers[1], 2, 4));
        path = Fusion(n, $"{scratch}refinenet2.", path, layers[1], g.Shape(layers[0], 2, 4));
        return Fusion(n, $"{scratch}refinenet1.", path, layers[0], null);
    }

    /// <summary>torch's bilinear interpolate with align_corners=True to spatial size <paramref name="spatial"/> ([2] int64).</summary>
    public static string AlignedResize(GraphBuilder g, string x, string spatial) =>
        g.Node("Resize", [x, string.Empty, string.Empty, g.Concat(0, g.Shape(x, 0, 2), spatial)],
            OnnxAttribute.String("mode", "linear"), OnnxAttribute.String("coordinate_transformation_mode", "align_corners"));

    /// <summary><see cref="AlignedResize"/> to twice <paramref name="x"/>'s size.</summary>
    public static string Doubled(GraphBuilder g, string x) => AlignedResize(g, x, g.Mul(g.Shape(x, 2, 4), g.Int64s(2, 2)));

    // FeatureFusionBlock: (x + unit1(skip)) through unit2, resized (align corners) to size or ×2, then out_conv.
    private static string Fusion(NetworkGraph n, string prefix, string x, string? skip, string? size)
    {
        var g = n.G;
        if (skip is not null) x = g.Add(x, ResidualUnit(n, skip, prefix + "resConfUnit1."));
        x = ResidualUnit(n, x, prefix + "resConfUnit2.");
        x = size is null ? Doubled(g, x) : AlignedResize(g, x, size);
        return n.Conv(x, prefix + "out_conv");
    }

    // ResidualConvUnit with ReLU(False): conv2(relu(conv1(relu(x)))) + x.
    private static string ResidualUnit(NetworkGraph n, string x, string prefix)
    {
        var g = n.G;
        var y = n.Conv(g.Node("Relu", [x]), prefix + "conv1");
        y = n.Conv(g.Node("Relu", [y]), prefix + "conv2");
        return g.Add(y, x);
    }
}
