using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// Kohya's Deep Shrink (ComfyUI's PatchModelAddDownscale) inside the UNet graph: the encoder's backbone <c>h</c> is resized
/// by <c>deep_shrink_scale</c> (1 / downscale_factor) after input block <c>deep_shrink_block</c> (ComfyUI's numbering: block 0
/// is <c>conv_in</c>, then each residual block with its transformer and each downsampler counts one), before that block's
/// skip is kept (<c>deep_shrink_after_skip</c> 0) or after (1, the default); every decoder concatenation whose backbone
/// height differs from its skip's resizes the backbone to the skip's size. The new size is round(n · scale) per axis,
/// Python's round (half to even) over float64, as ComfyUI's <c>common_upscale</c> is called. <c>deep_shrink_methods</c>
/// [2] picks the downscale's and the upscale's method among <see cref="Methods"/>: ONNX Resize with half-pixel coordinates,
/// as torch's <c>interpolate</c> without align_corners or antialiasing computes them (cubic with a = −0.75, clamped
/// borders; nearest-exact rounds half up); area as torch's adaptive average pooling (both ways) and bislerp as ComfyUI's
/// <c>comfy.utils.bislerp</c>, from ONNX operators in float32. Each site is an <c>If</c>, so only the taken branch costs anything; at block 0
/// (the default) no branch resizes and the graph computes the plain UNet exactly.
/// </summary>
public static class DeepShrinkPatch
{
    /// <summary>The block input: int64 [1], ComfyUI's block_number; 0 (the default) is off.</summary>
    public const string BlockName = "deep_shrink_block";

    /// <summary>The scale input: float64 [1], 1 / downscale_factor (default 1).</summary>
    public const string ScaleName = "deep_shrink_scale";

    /// <summary>The skip input: int64 [1], 1 (the default) to keep the block's skip before shrinking, 0 to shrink it too.</summary>
    public const string AfterSkipName = "deep_shrink_after_skip";

    /// <summary>The methods input: int64 [2], the downscale's and the upscale's index in <see cref="Methods"/> (default 0, 0).</summary>
    public const string MethodsName = "deep_shrink_methods";

    /// <summary>The resize methods by index, under ComfyUI's names.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["bicubic", "nearest-exact", "bilinear", "area", "bislerp"];

    /// <summary>The declared inputs of one graph.</summary>
    internal sealed class Inputs
    {
        private readonly string _block;
        private readonly string _scale;
        private readonly string _before;
        private readonly string _after;
        private readonly string _down;
        private readonly string _up;

        /// <summary>Declares the four optional inputs.</summary>
        public Inputs(GraphBuilder g)
        {
            _block = g.OptionalInput(OnnxTensor.FromInt64s(BlockName, [0], 1), TensorElementType.Int64, 1);
            _scale = g.OptionalInput(OnnxTensor.FromDoubles(ScaleName, [1.0], 1), TensorElementType.Double, 1);
            var afterSkip = g.OptionalInput(OnnxTensor.FromInt64s(AfterSkipName, [1], 1), TensorElementType.Int64, 1);
            var methods = g.OptionalInput(OnnxTensor.FromInt64s(MethodsName, [0, 0], 2), TensorElementType.Int64, 2);
            _after = g.Node("Equal", [afterSkip, g.Int64s(1)]);
            _before = g.Node("Not", [_after]);
            _down = g.Slice(methods, [0], [1], [0]);
            _up = g.Slice(methods, [1], [2], [0]);
        }

        /// <summary>
        /// Keeps input block <c>skips.Count</c>'s output <paramref name="h"/> as its skip and returns the backbone the next
        /// block reads: shrunk before or after the skip is kept when the block is the one chosen.
        /// </summary>
        public string Keep(GraphBuilder g, Stack<string> skips, string h)
        {
            if (skips.Count == 0)
            {
                skips.Push(h); // conv_in, block 0: ComfyUI's block_number starts at 1
                return h;
            }

            var chosen = g.Node("Equal", [_block, g.Int64s(skips.Count)]);
            h = Shrink(g, g.Node("And", [chosen, _before]), h);
            skips.Push(h);
            return Shrink(g, g.Node("And", [chosen, _after]), h);
        }

        /// <summary>The backbone <paramref name="h"/> resized to <paramref name="skip"/>'s size where their heights differ, as ComfyUI's patch compares them.</summary>
        public string Restore(GraphBuilder g, string h, string skip)
        {
            var differs = g.Node("Not", [g.Node("Equal", [g.Shape(h, 2, 3), g.Shape(skip, 2, 3)])]);
            return g.If(differs, b => Resize(b, h, b.Concat(0, b.Shape(h, 0, 2), b.Shape(skip, 2)), _up), b => h);
        }

        private string Shrink(GraphBuilder g, string condition, string h) => g.If(condition, b => Resize(b, h, ShrunkSize(b, h), _down), b => h);

        // [N, C, round(H · scale), round(W · scale)]: ONNX Round is half to even, like Python's round.
        private string ShrunkSize(GraphBuilder b, string h)
        {
            var spatial = b.Mul(b.Cast(b.Shape(h, 2, 4), TensorElementType.Double), _scale);
            return b.Concat(0, b.Shape(h, 0, 2), b.Cast(b.Node("Round", [spatial]), TensorElementType.Int64));
        }
    }

    /// <summary>
    /// The resize alone as a graph, for checking it against torch: input <c>x</c> [B, C, H, W] and <c>size</c> int64 [2]
    /// (height, width), output <c>y</c> by method <c>method</c> (int64 [1], an index in <see cref="Methods"/>).
    /// </summary>
    public static OnnxModel BuildStandalone()
    {
        var g = new GraphBuilder("deep_shrink_resize");
        var x = g.Input("x", TensorElementType.Float, "batch", "channels", "height", "width");
        var size = g.Input("size", TensorElementType.Int64, 2);
        var method = g.Input("method", TensorElementType.Int64, 1);
        var y = Resize(g, x, g.Concat(0, g.Shape(x, 0, 2), size), method);
        g.Output(y, "y", TensorElementType.Float, "batch", "channels", "out_height", "out_width");
        return g.Build("Deep Shrink's resize alone");
    }

    // Resize to sizes [4] by the method index: bicubic, nearest-exact, bilinear, area, else bislerp.
    private static string Resize(GraphBuilder g, string x, string sizes, string method)
    {
        string Run(GraphBuilder b, params OnnxAttribute[] attributes) =>
            b.Node("Resize", [x, string.Empty, string.Empty, sizes], [OnnxAttribute.String("coordinate_transformation_mode", "half_pixel"), .. attributes]);

        return g.If(
            g.Node("Equal", [method, g.Int64s(0)]),
            b => Run(b, OnnxAttribute.String("mode", "cubic"), OnnxAttribute.Float("cubic_coeff_a", -0.75f), OnnxAttribute.Int("exclude_outside", 0)),
            b => b.If(
                b.Node("Equal", [method, b.Int64s(1)]),
                c => Run(c, OnnxAttribute.String("mode", "nearest"), OnnxAttribute.String("nearest_mode", "round_prefer_ceil")),
                c => c.If(
                    c.Node("Equal", [method, c.Int64s(2)]),
                    d => Run(d, OnnxAttribute.String("mode", "linear")),
                    d => d.If(
                        d.Node("Equal", [method, d.Int64s(3)]),
                        e => Area(e, x, sizes),
                        e => Bislerp(e, x, sizes)))));
    }

    // torch's interpolate "area", which is adaptive average pooling both ways: output index i of an axis of n → m averages
    // inputs floor(i·n/m) … ceil((i+1)·n/m) − 1, so the resize is [m, n] weight matrices on each side of the planes. In
    // float32 (an fp16 export's branches keep their constants float32), cast back to the backbone's type.
    private static string Area(GraphBuilder g, string x, string sizes)
    {
        var planes = g.Cast(x, TensorElementType.Float);
        var rows = AreaWeights(g, g.Shape(x, 2, 3), g.Slice(sizes, [2], [3], [0]));
        var columns = AreaWeights(g, g.Shape(x, 3, 4), g.Slice(sizes, [3], [4], [0]));
        return g.Node("CastLike", [g.MatMul(g.MatMul(rows, planes), g.Transpose(columns, 1, 0)), x]);
    }

    // [m, n]: row i is 1 / count over input indices floor(i·n/m) … ceil((i+1)·n/m) − 1, by int64 division (exact).
    private static string AreaWeights(GraphBuilder g, string n, string m)
    {
        var one = g.Int64s(1);
        var i = g.Unsqueeze(Ramp(g, m), 1);
        var start = g.Div(g.Mul(i, n), m);
        var end = g.Div(g.Add(g.Mul(g.Add(i, one), n), g.Sub(m, one)), m);
        var j = g.Unsqueeze(Ramp(g, n), 0);
        var inside = g.Node("And", [g.Node("GreaterOrEqual", [j, start]), g.Node("Less", [j, end])]);
        return g.Div(g.Cast(inside, TensorElementType.Float), g.Cast(g.Sub(end, start), TensorElementType.Float));
    }

    // ComfyUI's bislerp (comfy.utils.bislerp): the width, then the height; along an axis each output pixel's vector of
    // channels is a slerp between two neighbouring input vectors, at the index and ratio of bilinear interpolation.
    private static string Bislerp(GraphBuilder g, string x, string sizes)
    {
        var planes = g.Cast(x, TensorElementType.Float);
        var (first, second, ratio) = Neighbours(g, g.Shape(x, 3, 4), g.Slice(sizes, [3], [4], [0]));
        var wide = Slerp(g, g.Gather(planes, first, 3), g.Gather(planes, second, 3), ratio);
        (first, second, ratio) = Neighbours(g, g.Shape(x, 2, 3), g.Slice(sizes, [2], [3], [0]));
        var tall = Slerp(g, g.Gather(wide, first, 2), g.Gather(wide, second, 2), g.Unsqueeze(ratio, 1));
        return g.Node("CastLike", [tall, x]);
    }

    // Output index i of an axis of n → m: bilinear's source (i + ½)·n/m − ½ clamped at 0, as the exact fraction
    // ((2i + 1)·n − m) / 2m in int64; the first neighbour is its floor and the second the next index, both at most n − 1.
    // torch's float32 ramp interpolation gives these indices, and the ratio to float32 rounding.
    private static (string First, string Second, string Ratio) Neighbours(GraphBuilder g, string n, string m)
    {
        var one = g.Int64s(1);
        var twice = g.Mul(m, g.Int64s(2));
        var numerator = g.Max(g.Sub(g.Mul(g.Add(g.Mul(Ramp(g, m), g.Int64s(2)), one), n), m), g.Int64s(0));
        var last = g.Sub(n, one);
        var first = g.Min(g.Div(numerator, twice), last);
        // Past n − 1 torch's ratio is 0 and this one is not, but both neighbours are then the last pixel, which any ratio keeps.
        var ratio = g.Div(g.Cast(g.Sub(numerator, g.Mul(first, twice)), TensorElementType.Float), g.Cast(twice, TensorElementType.Float));
        return (first, g.Min(g.Add(first, one), last), ratio);
    }

    // ComfyUI's slerp over the channel axis (1) of [N, C, …] pairs at ratio r: the unit directions (zero where a vector
    // is zero) turned by sin((1 − r)·ω)/sin ω and sin(r·ω)/sin ω, ω = acos of their dot, scaled by the lerp of the two
    // lengths; a pair whose dot is above 1 − 1e-5 keeps the first vector, one below 1e-5 − 1 is lerped.
    private static string Slerp(GraphBuilder g, string a, string b, string r)
    {
        var zero = g.Scalar(0);
        var rest = g.Sub(g.Scalar(1), r);
        string Length(string v) => g.Sqrt(g.ReduceSum(g.Mul(v, v), [1], keepDims: true));
        string Unit(string v, string length) => g.Node("Where", [g.Node("Equal", [length, zero]), zero, g.Div(v, length)]);
        var (lengthA, lengthB) = (Length(a), Length(b));
        var (unitA, unitB) = (Unit(a, lengthA), Unit(b, lengthB));
        var dot = g.ReduceSum(g.Mul(unitA, unitB), [1], keepDims: true);
        var omega = g.Node("Acos", [dot]);
        var sine = g.Sin(omega);
        var turned = g.Add(g.Mul(g.Div(g.Sin(g.Mul(rest, omega)), sine), unitA), g.Mul(g.Div(g.Sin(g.Mul(r, omega)), sine), unitB));
        var slerped = g.Mul(turned, g.Add(g.Mul(lengthA, rest), g.Mul(lengthB, r)));
        var lerped = g.Add(g.Mul(a, rest), g.Mul(b, r));
        var parallel = g.Node("Greater", [dot, g.Scalar((float)(1 - 1e-5))]);
        var opposite = g.Node("Less", [dot, g.Scalar((float)(1e-5 - 1))]);
        return g.Node("Where", [opposite, lerped, g.Node("Where", [parallel, a, slerped])]);
    }

    // 0 … length − 1 (int64) for an int64 [1] length.
    private static string Ramp(GraphBuilder g, string length) =>
        g.Node("Range", [g.Int64Scalar(0), g.Squeeze(length, 0), g.Int64Scalar(1)]);
}
