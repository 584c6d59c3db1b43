using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// Token merging (ComfyUI's TomePatchModel, after Bolya &amp; Hoffman's tomesd) inside the UNet graph. The optional inputs
/// <c>tome_order</c> (int64 [N]: the latent's token indices, the cells' dst tokens first, then the src tokens) and
/// <c>tome_counts</c> (int64 [2]: the dst count and r, the number of srcs merged), computed on the host from the latent size
/// and the ratio, apply to every self-attention of N tokens. There, by bipartite soft matching on the block's normed hidden
/// states (cosine similarity of each src to each dst, each src's most similar dst, the r srcs with the highest such
/// similarity), the queries of those r srcs are averaged into their dst's (a mean that counts the dst itself) and only the
/// remaining N − r queries attend, to the full keys and values; each merged src then takes its dst's attention output.
/// ComfyUI merges the normed hidden states before the query projection and unmerges after the output projection; both
/// projections are affine per token and a mean's weights sum to 1, so merging the projected queries and unmerging before
/// <c>to_out</c> gives the same result. Each site is an <c>If</c>: the defaults (r = 0) take the plain branch.
/// </summary>
public static class TokenMergePatch
{
    /// <summary>The token order input: int64 [N], the dst tokens' indices first, then the srcs'; the default [0] matches no block.</summary>
    public const string OrderName = "tome_order";

    /// <summary>The counts input: int64 [2], the number of dst tokens and r; the default [0, 0] merges nothing.</summary>
    public const string CountsName = "tome_counts";

    /// <summary>The declared inputs of one graph.</summary>
    internal sealed class Input
    {
        private readonly string _tokens;
        private readonly string _merged;
        private readonly string _dst;
        private readonly string _src;
        private readonly string _one;

        /// <summary>Declares the optional inputs and splits the order into its dst and src indices once.</summary>
        public Input(GraphBuilder g)
        {
            var order = g.OptionalInput(OnnxTensor.FromInt64s(OrderName, [0], 1), TensorElementType.Int64, "tome_tokens");
            var counts = g.OptionalInput(OnnxTensor.FromInt64s(CountsName, [0, 0], 2), TensorElementType.Int64, 2);
            var dsts = g.Slice(counts, [0], [1], [0]);
            _merged = g.Slice(counts, [1], [2], [0]);
            _dst = g.Node("Slice", [order, g.Int64s(0), dsts, g.Int64s(0)]);
            _src = g.Node("Slice", [order, dsts, g.Int64s(long.MaxValue), g.Int64s(0)]);
            _tokens = g.Shape(order);
            _one = g.Scalar(1f); // outside the branches, so an fp16 export converts it
        }

        /// <summary>
        /// Self-attention of <paramref name="q"/>, <paramref name="k"/>, <paramref name="v"/> ([B, N, C]) with the queries
        /// merged by the similarity of <paramref name="normed"/> (the block's normed hidden states) when the inputs name N
        /// tokens and r &gt; 0; otherwise what <paramref name="plain"/> builds.
        /// </summary>
        public string Attend(GraphBuilder g, string normed, string q, string k, string v, int heads, Func<GraphBuilder, string> plain)
        {
            var on = g.Node("And", [g.Node("Greater", [_merged, g.Int64s(0)]), g.Node("Equal", [_tokens, g.Shape(q, 1, 2)])]);
            return g.If(on, b => Merged(b, normed, q, k, v, heads), plain);
        }

        private string Merged(GraphBuilder g, string normed, string q, string k, string v, int heads)
        {
            // Bipartite soft matching on the cosine similarity of the normed hidden states.
            var unit = g.Div(normed, g.Node("ReduceL2", [normed], OnnxAttribute.Ints("axes", -1), OnnxAttribute.Int("keepdims", 1)));
            var scores = g.MatMul(g.Gather(unit, _src, 1), g.Transpose(g.Gather(unit, _dst, 1), 0, 2, 1)); // [B, srcs, dsts]
            var best = g.Node("ReduceMax", [scores], OnnxAttribute.Ints("axes", -1), OnnxAttribute.Int("keepdims", 0));
            var partner = g.Node("ArgMax", [scores], OnnxAttribute.Int("axis", -1), OnnxAttribute.Int("keepdims", 0));
            var ranked = g.TopKIndices(best, g.Shape(_src)); // the srcs by their best similarity, highest first
            var merged = g.Node("Slice", [ranked, g.Int64s(0), _merged, g.Int64s(1)]);
            var kept = g.Node("Slice", [ranked, _merged, g.Int64s(long.MaxValue), g.Int64s(1)]);
            var target = g.Node("GatherElements", [partner, merged], OnnxAttribute.Int("axis", 1)); // [B, r]: each merged src's dst

            // The queries: the kept srcs, then each dst averaged with the srcs merged into it. ONNX Runtime's CPU
            // ScatterElements adds in float32 only, so the mean is taken in float32 and cast back to q's type (fp16 exports).
            var (src, dst) = (g.Gather(q, _src, 1), g.Gather(q, _dst, 1));
            var moving = Rows(g, src, merged);
            var sums = ScatterAdd(g, Float32(g, dst), g.Node("Expand", [g.Unsqueeze(target, 2), g.Shape(moving)]), Float32(g, moving));
            var counts = ScatterAdd(g, Float32(g, g.Node("Expand", [_one, g.Shape(dst, 0, 2)])), target, Float32(g, g.Node("Expand", [_one, g.Shape(target)])));
            var mean = g.Node("CastLike", [g.Div(sums, g.Unsqueeze(counts, 2)), q]);
            var attended = g.MultiHeadAttention(g.Concat(1, Rows(g, src, kept), mean), k, v, heads);

            // Back to N rows: token t takes the attended row its query became (a merged src its dst's row).
            var batch = g.Shape(q, 0, 1);
            var positions = g.Concat(1, g.Gather(_src, kept, 0), g.Node("Expand", [_dst, g.Concat(0, batch, g.Shape(_dst))]), g.Gather(_src, merged, 0));
            var first = g.Node("Range", [g.Int64Scalar(0), g.Squeeze(g.Shape(attended, 1, 2), 0), g.Int64Scalar(1)]);
            var sources = g.Concat(1, g.Node("Expand", [first, g.Concat(0, batch, g.Shape(first))]), g.Add(target, g.Shape(kept, 1, 2)));
            var rows = g.Node("ScatterElements", [positions, positions, sources], OnnxAttribute.Int("axis", 1));
            return Rows(g, attended, rows);
        }

        private static string Float32(GraphBuilder g, string x) => g.Cast(x, TensorElementType.Float);

        private static string ScatterAdd(GraphBuilder g, string data, string indices, string updates) =>
            g.Node("ScatterElements", [data, indices, updates], OnnxAttribute.Int("axis", 1), OnnxAttribute.String("reduction", "add"));

        // The rows idx ([B, K]) of each batch item of x ([B, T, C]): [B, K, C], one Gather over x's flattened rows.
        private static string Rows(GraphBuilder g, string x, string idx)
        {
            var flat = g.ReshapeLike(x, g.Concat(0, g.Int64s(-1), g.Shape(x, 2, 3)));
            var starts = g.Mul(g.Node("Range", [g.Int64Scalar(0), g.Squeeze(g.Shape(x, 0, 1), 0), g.Int64Scalar(1)]), g.Shape(x, 1, 2));
            return g.Gather(flat, g.Add(idx, g.Unsqueeze(starts, 1)), 0);
        }
    }
}
