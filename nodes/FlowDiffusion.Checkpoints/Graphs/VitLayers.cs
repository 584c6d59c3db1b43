namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The two halves of a timm-style ViT block shared by the annotators' encoders (DINOv2 for Depth Anything, timm's
/// ViT-B/16 hybrid for MiDaS): fused <c>attn.qkv</c> split into q, k, v, multi-head attention, <c>attn.proj</c>; and the
/// <c>mlp.fc1</c> → exact GELU → <c>mlp.fc2</c> feed-forward. The callers add the norms, residuals and any layer scale.
/// </summary>
internal static class VitLayers
{
    /// <summary>proj(attention(q, k, v)) of the normed tokens [1, n, width], weights under <paramref name="prefix"/> (ending in a dot).</summary>
    public static string Attention(NetworkGraph n, string normed, string prefix, long width, int heads)
    {
        var g = n.G;
        var qkv = n.Linear(normed, prefix + "attn.qkv");
        var q = g.Slice(qkv, [0], [width], [2]);
        var k = g.Slice(qkv, [width], [2 * width], [2]);
        var v = g.Slice(qkv, [2 * width], [3 * width], [2]);
        return n.Linear(n.Attention(q, k, v, width, heads), prefix + "attn.proj");
    }

    /// <summary>fc2(GELU(fc1(normed))), weights under <paramref name="prefix"/> (ending in a dot).</summary>
    public static string Mlp(NetworkGraph n, string normed, string prefix) =>
        n.Linear(n.Gelu(n.Linear(normed, prefix + "mlp.fc1")), prefix + "mlp.fc2");
}
