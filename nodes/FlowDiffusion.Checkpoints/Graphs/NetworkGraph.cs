using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// SD's layers over a <see cref="GraphBuilder"/>, with each weight taken from the checkpoint by its canonical
/// (diffusers) name and bound as an initializer of that name, in the checkpoint's own layout (linear weights
/// [out, in] transposed in the graph), so a weight override or LoRA delta addresses it by the same name.
/// </summary>
internal sealed class NetworkGraph(GraphBuilder g, IReadOnlyDictionary<string, StoredTensor> weights, string source, WeightBinding binding)
{
    private const int Groups = 32;
    private readonly Dictionary<string, string> _bound = new(StringComparer.Ordinal);

    public GraphBuilder G => g;

    public bool Has(string name) => weights.ContainsKey(name);

    public long[] ShapeOf(string name) => Stored(name).Shape;

    /// <summary>The initializer holding checkpoint tensor <paramref name="name"/>, bound on first use.</summary>
    public string W(string name)
    {
        if (!_bound.TryGetValue(name, out var value))
        {
            var stored = Stored(name);
            value = g.Initializer(binding.Bind(name, stored));
            _bound[name] = value;
        }

        return value;
    }

    /// <summary><c>x·Wᵀ + b</c> over the last axis (bias when the checkpoint has one).</summary>
    public string Linear(string x, string name)
    {
        var y = g.MatMul(x, g.Transpose(W(name + ".weight"), 1, 0));
        return Has(name + ".bias") ? g.Add(y, W(name + ".bias")) : y;
    }

    /// <summary>
    /// A convolution whose kernel size comes from the weight; "same" padding unless <paramref name="pads"/> says
    /// otherwise; biased when the checkpoint has the bias; <paramref name="groups"/> splits the channels into that many
    /// independent convolutions (ResNeXt's grouped 3×3s; the weight's second axis is then inputs / groups).
    /// </summary>
    public string Conv(string x, string name, long stride = 1, long[]? pads = null, long groups = 1)
    {
        var kernel = ShapeOf(name + ".weight")[2];
        pads ??= [kernel / 2, kernel / 2, kernel / 2, kernel / 2];
        OnnxAttribute[] attributes = [OnnxAttribute.Ints("kernel_shape", kernel, kernel), OnnxAttribute.Ints("strides", stride, stride), OnnxAttribute.Ints("pads", pads)];
        return g.Node(
            "Conv",
            Has(name + ".bias") ? [x, W(name + ".weight"), W(name + ".bias")] : [x, W(name + ".weight")],
            groups == 1 ? attributes : [.. attributes, OnnxAttribute.Int("group", groups)]);
    }

    /// <summary>GroupNorm with 32 groups: instance norm over [batch, groups, rest], then the per-channel affine map.</summary>
    public string GroupNorm(string x, string name, float epsilon)
    {
        var grouped = g.Reshape(x, 0, Groups, -1);
        var normalised = g.InstanceNorm(grouped, Constant("group_norm_ones", 1f), Constant("group_norm_zeros", 0f), epsilon);
        var restored = g.ReshapeLike(normalised, g.Shape(x));
        return g.Add(g.Mul(restored, g.Unsqueeze(W(name + ".weight"), 1, 2)), g.Unsqueeze(W(name + ".bias"), 1, 2));
    }

    /// <summary>BatchNorm in inference mode: the checkpoint's <c>weight</c>, <c>bias</c>, <c>running_mean</c> and <c>running_var</c> under <paramref name="name"/>.</summary>
    public string BatchNorm(string x, string name, float epsilon) => g.Node(
        "BatchNormalization",
        [x, W(name + ".weight"), W(name + ".bias"), W(name + ".running_mean"), W(name + ".running_var")],
        OnnxAttribute.Float("epsilon", epsilon));

    /// <summary>LayerNormalization over the last axis.</summary>
    public string LayerNorm(string x, string name, float epsilon = 1e-5f) => g.LayerNorm(x, W(name + ".weight"), W(name + ".bias"), epsilon);

    /// <summary>
    /// Scaled dot-product attention over [batch, tokens, width] values split into <paramref name="heads"/> heads, with an
    /// optional additive mask. Without a mask it is ONNX Runtime's fused MultiHeadAttention (flash attention on the CPU:
    /// a 512² SD 1.5 step no longer stores 2 × 8 × 4096² scores per self-attention); with one (CLIP's causal mask) it is
    /// written out in standard operators.
    /// </summary>
    public string Attention(string q, string k, string v, long width, int heads, string? mask = null)
    {
        if (mask is null)
        {
            return g.MultiHeadAttention(q, k, v, heads);
        }

        var headWidth = width / heads;
        var qh = g.Transpose(g.Reshape(q, 0, 0, heads, headWidth), 0, 2, 1, 3);
        var kh = g.Transpose(g.Reshape(k, 0, 0, heads, headWidth), 0, 2, 3, 1);
        var vh = g.Transpose(g.Reshape(v, 0, 0, heads, headWidth), 0, 2, 1, 3);
        var scores = g.Add(g.Mul(g.MatMul(qh, kh), g.Scalar(1f / MathF.Sqrt(headWidth))), mask);
        return g.Reshape(g.Transpose(g.MatMul(g.Softmax(scores, -1), vh), 0, 2, 1, 3), 0, 0, width);
    }

    /// <summary>A feature map [B, C, H, W] as a token sequence [B, H·W, C].</summary>
    public string ToSequence(string x, long channels) => g.Transpose(g.Reshape(x, 0, channels, -1), 0, 2, 1);

    /// <summary>A token sequence back to the spatial shape of <paramref name="like"/>.</summary>
    public string ToMap(string sequence, string like) => g.ReshapeLike(g.Transpose(sequence, 0, 2, 1), g.Shape(like));

    /// <summary>Exact (erf) GELU.</summary>
    public string Gelu(string x) =>
        g.Mul(g.Mul(x, g.Scalar(0.5f)), g.Add(g.Node("Erf", [g.Mul(x, g.Scalar(1f / MathF.Sqrt(2f)))]), g.Scalar(1f)));

    private string Constant(string stem, float value)
    {
        var name = $"{stem}_{Groups}";
        if (!_bound.ContainsKey(name))
        {
            _bound[name] = g.Weight(name, Enumerable.Repeat(value, Groups).ToArray(), Groups);
        }

        return _bound[name];
    }

    private StoredTensor Stored(string name) => weights.TryGetValue(name, out var stored)
        ? stored
        : throw new CheckpointException($"{source}: tensor '{name}' (diffusers name) is missing; the checkpoint is incomplete or not SD 1.x.");
}
