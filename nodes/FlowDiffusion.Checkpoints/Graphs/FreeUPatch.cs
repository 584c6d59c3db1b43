using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// FreeU (Si et al.; ComfyUI's FreeU and FreeU_V2) inside the UNet graph: before each decoder concatenation whose
/// backbone <c>h</c> has model_channels × 4 channels (factors b1, s1) or × 2 (b2, s2), the first half of <c>h</c>'s
/// channels is multiplied by b (version 2: by (b − 1)·m + 1, m the channel mean of <c>h</c> rescaled to [0, 1] per sample
/// over its pixels) and the skip is filtered in the Fourier domain: the 2×2 box of the centred spectrum around the zero
/// frequency (frequencies −1 and 0 on each axis) is multiplied by s and the real part of the inverse transform kept.
/// That filter is linear and separable: it is x − (1 − s)·Re(A_H x A_Wᵀ), A_n = F⁻¹ diag(box) F the n × n circulant
/// with entries (1 + e^(−2πi(j−k)/n))/n (1 when n = 1), so the graph computes it with four matrix products over cos and
/// sin matrices made at run time for the skip's size, no DFT operator needed.
/// The inputs are optional scalars: <c>freeu_b1</c>, <c>freeu_b2</c>, <c>freeu_s1</c>, <c>freeu_s2</c> (default 1) and
/// <c>freeu_version</c> (1 or 2, default 1); at the defaults the graph computes the plain UNet exactly.
/// </summary>
public static class FreeUPatch
{
    /// <summary>The input names, in the order b1, b2, s1, s2.</summary>
    public static IReadOnlyList<string> FactorNames { get; } = ["freeu_b1", "freeu_b2", "freeu_s1", "freeu_s2"];

    /// <summary>The version input: 1 scales by b, 2 by b weighted with the normalised hidden mean (FreeU_V2).</summary>
    public const string VersionName = "freeu_version";

    /// <summary>The declared FreeU inputs of one graph.</summary>
    internal sealed class Inputs
    {
        private readonly string[] _factors;
        private readonly string _v2;

        /// <summary>Declares the five optional inputs.</summary>
        public Inputs(GraphBuilder g)
        {
            _factors = [.. FactorNames.Select(name => g.OptionalInput(OnnxTensor.FromFloats(name, [1f], 1), TensorElementType.Float, 1))];
            var version = g.OptionalInput(OnnxTensor.FromFloats(VersionName, [1f], 1), TensorElementType.Float, 1);
            _v2 = g.Node("Greater", [version, g.Scalar(1.5f)]);
        }

        /// <summary>
        /// Applies the patch to the backbone <paramref name="h"/> (<paramref name="channels"/> wide) and the skip it meets
        /// when its width is one FreeU scales; else returns both unchanged.
        /// </summary>
        public (string H, string Skip) Apply(GraphBuilder g, int modelChannels, string h, int channels, string skip)
        {
            int level;
            if (channels == modelChannels * 4)
            {
                level = 0;
            }
            else if (channels == modelChannels * 2)
            {
                level = 1;
            }
            else
            {
                return (h, skip);
            }

            return (Backbone(g, h, channels, _factors[level], _v2), Filter(g, skip, _factors[2 + level]));
        }
    }

    /// <summary>
    /// The patch alone as a graph, for checking it against a reference: inputs <c>h</c> [B, <paramref name="channels"/>, H, W],
    /// <c>skip</c> [B, C, H, W] and the five FreeU inputs; outputs <c>h_out</c> and <c>skip_out</c>, as one decoder
    /// concatenation of a UNet with <paramref name="modelChannels"/> would see them.
    /// </summary>
    public static OnnxModel BuildStandalone(int modelChannels, int channels, int skipChannels)
    {
        var g = new GraphBuilder("freeu");
        var h = g.Input("h", TensorElementType.Float, "batch", channels, "height", "width");
        var skip = g.Input("skip", TensorElementType.Float, "batch", skipChannels, "height", "width");
        var (hOut, skipOut) = new Inputs(g).Apply(g, modelChannels, h, channels, skip);
        g.Output(hOut, "h_out", TensorElementType.Float, "batch", channels, "height", "width");
        g.Output(skipOut, "skip_out", TensorElementType.Float, "batch", skipChannels, "height", "width");
        return g.Build("FreeU's patch alone");
    }

    // The first half of h's channels times b (version 1) or (b − 1)·m + 1 (version 2).
    private static string Backbone(GraphBuilder g, string h, int channels, string b, string v2)
    {
        var half = channels / 2;
        var first = g.Slice(h, [0], [half], [1]);
        var rest = g.Slice(h, [half], [channels], [1]);
        var mean = g.Node("ReduceMean", [h], OnnxAttribute.Ints("axes", [1]), OnnxAttribute.Int("keepdims", 1));
        var flat = g.Reshape(mean, 0, -1);
        var low = g.Reshape(g.Node("ReduceMin", [flat], OnnxAttribute.Ints("axes", [1]), OnnxAttribute.Int("keepdims", 1)), 0, 1, 1, 1);
        var high = g.Reshape(g.Node("ReduceMax", [flat], OnnxAttribute.Ints("axes", [1]), OnnxAttribute.Int("keepdims", 1)), 0, 1, 1, 1);
        var normalised = g.Div(g.Sub(mean, low), g.Sub(high, low));
        var weighted = g.Add(g.Mul(g.Sub(b, g.Scalar(1f)), normalised), g.Scalar(1f));
        // Where keeps version 2's NaN (one pixel: max = min) out of version 1.
        var factor = g.Node("Where", [v2, weighted, b]);
        return g.Concat(1, g.Mul(first, factor), rest);
    }

    // x − (1 − s)·(P_H x P_Wᵀ − Q_H x Q_Wᵀ), P and Q the real and imaginary parts of the box's circulant. The matrices
    // come from a float32 Range (an fp16 export keeps Cast outputs float32), so they take x's type before the products.
    private static string Filter(GraphBuilder g, string x, string s)
    {
        var (pRows, qRows) = Circulant(g, g.Shape(x, 2, 3), transposed: false);
        var (pColumns, qColumns) = Circulant(g, g.Shape(x, 3, 4), transposed: true);
        (pRows, qRows, pColumns, qColumns) = (Like(g, pRows, x), Like(g, qRows, x), Like(g, pColumns, x), Like(g, qColumns, x));
        var real = g.MatMul(g.MatMul(pRows, x), pColumns);
        var imaginary = g.MatMul(g.MatMul(qRows, x), qColumns);
        var lowpass = g.Sub(real, imaginary);
        return g.Sub(x, g.Mul(g.Sub(g.Scalar(1f), s), lowpass));
    }

    private static string Like(GraphBuilder g, string value, string like) => g.Node("CastLike", [value, like]);

    // For a size n ([1] int64): P[j, k] = (1 + c·cos θ)/n and Q[j, k] = −c·sin θ/n, θ = 2π(j − k)/n (k − j when transposed),
    // c = min(n − 1, 1): for n = 1 the box holds the one frequency, so the operator is 1.
    private static (string P, string Q) Circulant(GraphBuilder g, string size, bool transposed)
    {
        var n = g.Squeeze(size, 0);
        var index = g.Cast(g.Node("Range", [g.Int64Scalar(0), n, g.Int64Scalar(1)]), TensorElementType.Float);
        var count = g.Cast(size, TensorElementType.Float);
        var (left, right) = (g.Unsqueeze(index, 1), g.Unsqueeze(index, 0));
        var difference = transposed ? g.Sub(right, left) : g.Sub(left, right);
        var angle = g.Mul(difference, g.Div(g.Scalar(2f * MathF.PI), count));
        var gate = g.Min(g.Sub(count, g.Scalar(1f)), g.Scalar(1f));
        var p = g.Div(g.Add(g.Scalar(1f), g.Mul(gate, g.Cos(angle))), count);
        var q = g.Div(g.Mul(g.Sub(g.Scalar(0f), gate), g.Sin(angle)), count);
        return (p, q);
    }
}
