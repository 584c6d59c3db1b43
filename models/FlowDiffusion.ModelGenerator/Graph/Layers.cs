using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using FlowDiffusion.ModelGenerator.Weights;

namespace FlowDiffusion.ModelGenerator.Graph;

/// <summary>
/// The building blocks of SD's networks (linear, conv, group norm, residual block, attention, transformer block) over
/// a <see cref="GraphBuilder"/>, with weights drawn from one seeded stream in construction order.
/// </summary>
internal sealed class Layers(GraphBuilder g, UniformInitializer weights)
{
    private const int Groups = 8;

    public GraphBuilder Graph => g;

    /// <summary><c>x·W + b</c> over the last axis.</summary>
    public string Linear(string x, int inFeatures, int outFeatures, string name, bool bias = true)
    {
        var y = g.MatMul(x, g.Weight(name + ".weight", weights.ForFanIn(inFeatures * outFeatures, inFeatures), inFeatures, outFeatures));
        return bias ? g.Add(y, g.Weight(name + ".bias", weights.ForFanIn(outFeatures, inFeatures), outFeatures)) : y;
    }

    /// <summary>A square-kernel convolution with "same" padding for odd kernels.</summary>
    public string Conv(string x, int inChannels, int outChannels, int kernel, string name, int stride = 1, double gain = 1.0)
    {
        var fanIn = inChannels * kernel * kernel;
        var w = g.Weight(name + ".weight", weights.ForFanIn(outChannels * fanIn, fanIn, gain), outChannels, inChannels, kernel, kernel);
        var b = g.Weight(name + ".bias", weights.ForFanIn(outChannels, fanIn, gain), outChannels);
        return g.Conv(x, w, b, kernel, stride, kernel / 2);
    }

    /// <summary>Group normalisation: instance norm over [batch, groups, rest], then a per-channel affine map.</summary>
    public string GroupNorm(string x, int channels, string name)
    {
        var grouped = g.Reshape(x, 0, Groups, -1);
        var normalised = g.InstanceNorm(grouped, g.Weight(name + ".group_scale", Ones(Groups), Groups), g.Weight(name + ".group_bias", new float[Groups], Groups), 1e-6f);
        var restored = g.ReshapeLike(normalised, g.Shape(x));
        var gamma = g.Weight(name + ".weight", Ones(channels), channels, 1, 1);
        return g.Add(g.Mul(restored, gamma), g.Weight(name + ".bias", new float[channels], channels, 1, 1));
    }

    /// <summary>LayerNormalization over the last axis.</summary>
    public string LayerNorm(string x, int width, string name) =>
        g.LayerNorm(x, g.Weight(name + ".weight", Ones(width), width), g.Weight(name + ".bias", new float[width], width));

    /// <summary>SD's ResnetBlock2D: GN-SiLU-conv, plus the projected time embedding, GN-SiLU-conv, plus the (projected) input.</summary>
    public string ResBlock(string x, int inChannels, int outChannels, string? timeEmbedding, int timeWidth, string name)
    {
        var h = Conv(g.Silu(GroupNorm(x, inChannels, name + ".norm1")), inChannels, outChannels, 3, name + ".conv1");
        if (timeEmbedding is not null)
        {
            var t = Linear(g.Silu(timeEmbedding), timeWidth, outChannels, name + ".time_emb_proj");
            h = g.Add(h, g.Unsqueeze(t, 2, 3));
        }

        h = Conv(g.Silu(GroupNorm(h, outChannels, name + ".norm2")), outChannels, outChannels, 3, name + ".conv2", gain: 0.5);
        var shortcut = inChannels == outChannels ? x : Conv(x, inChannels, outChannels, 1, name + ".conv_shortcut");
        return g.Add(shortcut, h);
    }

    /// <summary>Multi-head scaled dot-product attention of a query sequence over a key/value sequence, with an optional additive mask.</summary>
    public string Attention(string query, int queryWidth, string context, int contextWidth, int width, int heads, string name, string? mask = null)
    {
        var headWidth = width / heads;
        var q = SplitHeads(Linear(query, queryWidth, width, name + ".to_q", bias: false), heads, headWidth, [0, 2, 1, 3]);
        var k = SplitHeads(Linear(context, contextWidth, width, name + ".to_k", bias: false), heads, headWidth, [0, 2, 3, 1]);
        var v = SplitHeads(Linear(context, contextWidth, width, name + ".to_v", bias: false), heads, headWidth, [0, 2, 1, 3]);
        var scores = g.Mul(g.MatMul(q, k), g.Scalar(1f / MathF.Sqrt(headWidth)));
        if (mask is not null)
        {
            scores = g.Add(scores, mask);
        }

        var attended = g.MatMul(g.Softmax(scores, -1), v);
        var merged = g.Reshape(g.Transpose(attended, 0, 2, 1, 3), 0, 0, width);
        return Linear(merged, width, queryWidth, name + ".to_out");
    }

    /// <summary>CLIP's quick GELU, x·σ(1.702x), followed by the second projection: a transformer feed-forward.</summary>
    public string FeedForward(string x, int width, string name)
    {
        var hidden = Linear(x, width, 4 * width, name + ".fc1");
        var activated = g.Mul(hidden, g.Sigmoid(g.Mul(hidden, g.Scalar(1.702f))));
        return Linear(activated, 4 * width, width, name + ".fc2");
    }

    /// <summary>
    /// SD's Transformer2DModel on a feature map: GN, flatten to a sequence, self-attention, cross-attention to
    /// <paramref name="context"/> (self-attention only when null), feed-forward, back to the map, plus the input.
    /// </summary>
    public string SpatialTransformer(string x, int channels, string? context, int contextWidth, int heads, string name)
    {
        var sequence = g.Transpose(g.Reshape(GroupNorm(x, channels, name + ".norm"), 0, channels, -1), 0, 2, 1);
        var h = Linear(sequence, channels, channels, name + ".proj_in");
        var n1 = LayerNorm(h, channels, name + ".norm1");
        h = g.Add(h, Attention(n1, channels, n1, channels, channels, heads, name + ".attn1"));
        if (context is not null)
        {
            h = g.Add(h, Attention(LayerNorm(h, channels, name + ".norm2"), channels, context, contextWidth, channels, heads, name + ".attn2"));
        }

        h = g.Add(h, FeedForward(LayerNorm(h, channels, name + ".norm3"), channels, name + ".ff"));
        var projected = Linear(h, channels, channels, name + ".proj_out");
        return g.Add(x, g.ReshapeLike(g.Transpose(projected, 0, 2, 1), g.Shape(x)));
    }

    private string SplitHeads(string x, int heads, int headWidth, long[] perm) =>
        g.Transpose(g.Reshape(x, 0, 0, heads, headWidth), perm);

    private static float[] Ones(int count) => Enumerable.Repeat(1f, count).ToArray();
}
