using FlowDiffusion.Checkpoints.Upscale;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// SPAN (Swift Parameter-free Attention Network) as ONNX, as spandrel runs it in eval mode: the image less the RGB mean
/// (0.4488, 0.4371, 0.4040), times 255 (unless the file has <c>no_norm</c>); <c>conv_1</c>; six SPAB blocks, each
/// o1 = c1_r(x), o3 = c3_r(SiLU(c2_r(SiLU(o1)))) and (o3 + x)·(σ(o3) − 0.5), the parameter-free attention; a 1×1
/// <c>conv_cat</c> over [conv_1's output, conv_2(block 6), block 1, block 6's SiLU(o1)] (spandrel's SiLU is in place, so
/// the activated o1 is what it concatenates); <c>upsampler.0</c> and a pixel shuffle (torch's order: DepthToSpace CRD).
/// Each Conv3XC is one zero-padded 3×3 convolution whose kernel the graph merges from the stored branch
/// (conv.2 ∘ conv.1 ∘ conv.0) and shortcut (<c>sk</c>), as spandrel re-merges before every run: the stored
/// <c>eval_conv</c> can be stale (a file saved without an eval pass) and is not used.
/// </summary>
public static class SpanGraph
{
    private static readonly float[] Mean = [0.4488f, 0.4371f, 0.4040f];
    private const float ImageRange = 255f;

    /// <summary>Builds the graph (weights embedded unless <paramref name="binding"/> says otherwise).</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, SpanArchitecture arch, string source, WeightBinding? binding = null)
    {
        ArgumentNullException.ThrowIfNull(arch);
        var g = new GraphBuilder("span");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var image = g.Input("image", TensorElementType.Float, "batch", arch.InChannels, "height", "width");
        var x = arch.Normalised ? g.Mul(g.Sub(image, g.Weight("rgb_mean", Mean, 1, 3, 1, 1)), g.Scalar(ImageRange)) : image;
        var feature = Conv3XC(n, x, "conv_1");
        var h = feature;
        string firstBlock = "", lastActivated = "";
        for (var b = 1; b <= 6; b++)
        {
            var activated = g.Silu(Conv3XC(n, h, $"block_{b}.c1_r"));
            var o3 = Conv3XC(n, g.Silu(Conv3XC(n, activated, $"block_{b}.c2_r")), $"block_{b}.c3_r");
            h = g.Mul(g.Add(o3, h), g.Sub(g.Sigmoid(o3), g.Scalar(0.5f)));
            firstBlock = b == 1 ? h : firstBlock;
            lastActivated = activated;
        }

        var merged = n.Conv(g.Concat(1, feature, Conv3XC(n, h, "conv_2"), firstBlock, lastActivated), "conv_cat");
        var output = g.Node("DepthToSpace", [n.Conv(merged, "upsampler.0")], OnnxAttribute.Int("blocksize", arch.Scale), OnnxAttribute.String("mode", "CRD"));
        g.Output(output, "upscaled", TensorElementType.Float, "batch", arch.OutChannels, "upscaled_height", "upscaled_width");
        return g.Build($"SPAN built from {Path.GetFileName(source)}: {arch.Features} features, {arch.InChannels} → {arch.OutChannels} channels, {arch.Scale}x"
            + (arch.Normalised ? "." : " (no_norm)."));
    }

    // One 3×3 convolution, kernel W = w3·w2·w1 (per tap) + sk at the centre, bias w3·(Σ_taps w2·b1 + b2) + b3 + sk's bias.
    private static string Conv3XC(NetworkGraph n, string x, string name)
    {
        var g = n.G;
        var w2Shape = n.ShapeOf($"{name}.conv.1.weight");
        var (inner, outer) = (w2Shape[1], w2Shape[0]);
        var w1 = g.Reshape(n.W($"{name}.conv.0.weight"), inner, -1);
        var w2 = n.W($"{name}.conv.1.weight");
        var w3 = g.Reshape(n.W($"{name}.conv.2.weight"), -1, outer);
        // [outer, 3, 3, inner] · [inner, in] → [outer, 3, 3, in]; then w3 · that → [out, 3·3·in] → [out, in, 3, 3].
        var taps = g.MatMul(g.Transpose(w2, 0, 2, 3, 1), w1);
        var branch = g.Transpose(g.Reshape(g.MatMul(w3, g.Reshape(taps, outer, -1)), 0, 3, 3, -1), 0, 3, 1, 2);
        var shortcut = g.Node("Pad", [n.W($"{name}.sk.weight"), g.Int64s(0, 0, 1, 1, 0, 0, 1, 1)]);
        var kernel = g.Add(branch, shortcut);
        var innerBias = g.Add(g.MatMul(g.ReduceSum(w2, [2, 3], keepDims: false), n.W($"{name}.conv.0.bias")), n.W($"{name}.conv.1.bias"));
        var bias = g.Add(g.Add(g.MatMul(w3, innerBias), n.W($"{name}.conv.2.bias")), n.W($"{name}.sk.bias"));
        return g.Conv(x, kernel, bias, 3, pad: 1);
    }
}
