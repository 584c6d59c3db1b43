using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// MiDaS v3 DPT-Hybrid (<c>DPTDepthModel</c>, backbone <c>vitb_rn50_384</c>, <c>non_negative</c>) as ONNX:
/// <c>image</c> [1, 3, h, w] (RGB as x / 127.5 − 1, sides multiples of 32) → <c>depth</c> [1, 1, h, w], the relative
/// inverse depth after the final ReLU.
/// The ResNet-50 v2 stem of timm's hybrid ViT: weight-standardised convolutions (StdConv2dSame: each filter less its
/// mean over its square root of its biased variance + 1e-8; TensorFlow "same" padding, the odd pixel on the bottom and
/// right), GroupNorm (32 groups, ε 1e-5) with ReLU, a 7 × 7 stride-2 stem and a 3 × 3 stride-2 max pool, then three
/// stages of bottlenecks (stride on the 3 × 3, a projection shortcut on each stage's first, ReLU after the sum).
/// The 1 / 16 map of stage 2 is projected to 768 tokens, the class token prepended and the position embeddings added
/// (their 24 × 24 grid resized bilinearly, half-pixel, to the token grid); 12 pre-norm blocks (LayerNorm ε 1e-6,
/// 12 heads, exact GELU). The four maps: stages 0 and 1 as they are, blocks 8 and 11 (before the final norm) with the
/// 'project' readout (each token concatenated with the class token, Linear, GELU), as maps, a 1 × 1 convolution, and
/// for block 11 a 3 × 3 stride-2 convolution; then <see cref="DptFusion"/> and <c>output_conv</c> (3 × 3 conv,
/// bilinear align-corners × 2, 3 × 3 conv, ReLU, 1 × 1 conv, ReLU).
/// </summary>
public static class MidasGraph
{
    private const float StandardEpsilon = 1e-8f;
    private const float GroupEpsilon = 1e-5f;
    private const float NormEpsilon = 1e-6f;
    private const string Vit = "pretrained.model.";
    private const string Backbone = Vit + "patch_embed.backbone.";

    /// <summary>The hooked transformer blocks (DPT's hooks 8 and 11 for vitb_rn50_384).</summary>
    public static readonly int[] HookedBlocks = [8, 11];

    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("midas_dpt_hybrid");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var image = g.Input("image", TensorElementType.Float, 1, 3, "height", "width");

        // ResNet-50 v2 stem: conv 7 × 7 / 2 (same: pads 2 before, 3 after), GroupNorm + ReLU, max pool 3 × 3 / 2 (same: 0, 1).
        var x = StdConv(n, image, Backbone + "stem.conv.weight", 2, [2, 2, 3, 3]);
        x = GroupNorm(n, x, Backbone + "stem.norm", relu: true);
        x = g.Node("MaxPool", [x], OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("strides", 2, 2), OnnxAttribute.Ints("pads", 0, 0, 1, 1));
        var maps = new List<string>();
        for (var s = 0; s < MidasCheckpoint.StageDepths.Length; s++)
        {
            for (var b = 0; b < MidasCheckpoint.StageDepths[s]; b++)
                x = Bottleneck(n, x, $"{Backbone}stages.{s}.blocks.{b}.", b == 0 && s > 0 ? 2 : 1, b == 0);
            if (s < 2) maps.Add(x);
        }

        var patches = n.Conv(x, Vit + "patch_embed.proj");
        var h = g.Concat(1, n.W(Vit + "cls_token"), n.ToSequence(patches, MidasCheckpoint.Width));
        h = g.Add(h, Positions(n, patches));
        for (var i = 0; i < MidasCheckpoint.Layers; i++)
        {
            var prefix = $"{Vit}blocks.{i}.";
            h = g.Add(h, VitLayers.Attention(n, n.LayerNorm(h, prefix + "norm1", NormEpsilon), prefix, MidasCheckpoint.Width, MidasCheckpoint.Heads));
            h = g.Add(h, VitLayers.Mlp(n, n.LayerNorm(h, prefix + "norm2", NormEpsilon), prefix));
            var hook = Array.IndexOf(HookedBlocks, i);
            if (hook < 0) continue;
            var post = $"pretrained.act_postprocess{hook + 3}.";
            var map = n.Conv(n.ToMap(Readout(n, h, post + "0.project.0"), patches), post + "3");
            maps.Add(hook == 1 ? n.Conv(map, post + "4", stride: 2) : map);
        }

        var output = n.Conv(DptFusion.Fuse(n, "scratch.", maps), "scratch.output_conv.0");
        output = n.Conv(DptFusion.Doubled(g, output), "scratch.output_conv.2");
        output = g.Node("Relu", [n.Conv(g.Node("Relu", [output]), "scratch.output_conv.4")]);
        g.Output(output, "depth", TensorElementType.Float, 1, 1, "height", "width");
        return g.Build($"MiDaS DPT-Hybrid built from {Path.GetFileName(source)}: the relative inverse depth at the input's size.");
    }

    // timm's Bottleneck (non-pre-activation): shortcut (projected on a stage's first), 1 × 1, 3 × 3 (strided), 1 × 1, each
    // StdConv + GroupNorm, ReLU but after the last; ReLU(x + shortcut).
    private static string Bottleneck(NetworkGraph n, string x, string prefix, long stride, bool project)
    {
        var g = n.G;
        var shortcut = project ? GroupNorm(n, StdConv(n, x, prefix + "downsample.conv.weight", stride, [0, 0, 0, 0]), prefix + "downsample.norm", relu: false) : x;
        var y = GroupNorm(n, StdConv(n, x, prefix + "conv1.weight", 1, [0, 0, 0, 0]), prefix + "norm1", relu: true);
        y = GroupNorm(n, StdConv(n, y, prefix + "conv2.weight", stride, stride == 1 ? [1, 1, 1, 1] : [0, 0, 1, 1]), prefix + "norm2", relu: true);
        y = GroupNorm(n, StdConv(n, y, prefix + "conv3.weight", 1, [0, 0, 0, 0]), prefix + "norm3", relu: false);
        return g.Node("Relu", [g.Add(y, shortcut)]);
    }

    // StdConv2dSame without bias: the filter standardised per output channel ((w − mean) / √(var + ε), biased variance),
    // ONNX Runtime folds it once per session. pads: [top, left, bottom, right] for even input sides.
    private static string StdConv(NetworkGraph n, string x, string weight, long stride, long[] pads)
    {
        var g = n.G;
        var w = n.W(weight);
        var shape = n.ShapeOf(weight);
        var fanIn = g.Scalar(shape[1] * shape[2] * shape[3]);
        var centred = g.Sub(w, g.Div(g.ReduceSum(w, [1, 2, 3], keepDims: true), fanIn));
        var variance = g.Div(g.ReduceSum(g.Mul(centred, centred), [1, 2, 3], keepDims: true), fanIn);
        var standardised = g.Div(centred, g.Sqrt(g.Add(variance, g.Scalar(StandardEpsilon))));
        return g.Node("Conv", [x, standardised],
            OnnxAttribute.Ints("kernel_shape", shape[2], shape[3]), OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Ints("pads", pads[0], pads[1], pads[2], pads[3]));
    }

    private static string GroupNorm(NetworkGraph n, string x, string name, bool relu)
    {
        var y = n.GroupNorm(x, name, GroupEpsilon);
        return relu ? n.G.Node("Relu", [y]) : y;
    }

    // pos_embed's class position as stored, its 24 × 24 grid resized (bilinear, half-pixel: F.interpolate's default) to the
    // token grid, as MiDaS's _resize_pos_embed does for every input size.
    private static string Positions(NetworkGraph n, string patches)
    {
        var g = n.G;
        const long d = MidasCheckpoint.Width, grid = MidasCheckpoint.Grid;
        var stored = n.W(Vit + "pos_embed");
        var map = g.Transpose(g.Reshape(g.Slice(stored, [1], [1 + grid * grid], [1]), 1, grid, grid, d), 0, 3, 1, 2);
        var resized = g.Node("Resize", [map, string.Empty, string.Empty, g.Concat(0, g.Int64s(1, d), g.Shape(patches, 2, 4))],
            OnnxAttribute.String("mode", "linear"), OnnxAttribute.String("coordinate_transformation_mode", "half_pixel"));
        return g.Concat(1, g.Slice(stored, [0], [1], [1]), n.ToSequence(resized, d));
    }

    // ProjectReadout: GELU(Linear([token, class token])) for every patch token.
    private static string Readout(NetworkGraph n, string h, string name)
    {
        var g = n.G;
        var tokens = g.Slice(h, [1], [long.MaxValue], [1]);
        var readout = g.Node("Expand", [g.Slice(h, [0], [1], [1]), g.Shape(tokens)]);
        return n.Gelu(n.Linear(g.Concat(2, tokens, readout), name));
    }
}
