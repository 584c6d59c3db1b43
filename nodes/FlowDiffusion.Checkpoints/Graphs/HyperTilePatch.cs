using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// HyperTile (ComfyUI's HyperTile node) inside the UNet graph: the optional input <c>hypertile_tiles</c> (int64 [D, 4]) holds
/// one row (tokens, nh, nw, w) per tiled depth, computed on the host from the latent size. A transformer block's
/// self-attention whose token count N equals a row's first number is tiled as ComfyUI's patch tiles it: the queries'
/// token sequence, read as an (nh·h/nh) × (nw·w/nw) grid with h = N / w, is cut into nh·nw tiles, each a batch row
/// ([B·nh·nw, N / (nh·nw), C]); the keys and values keep their sequence order and are only reshaped to that batch (ComfyUI
/// passes them untiled and its attention views them with the queries' batch), so tile t attends to the t-th contiguous
/// N / (nh·nw) tokens. The output goes back to [B, N, C] by the inverse of the queries' tiling. Each site is an <c>If</c>:
/// the default row (0 tokens) matches no block, and the untaken branch attends exactly as the plain graph does.
/// </summary>
public static class HyperTilePatch
{
    /// <summary>The tiles input: int64 [D, 4], rows (tokens, nh, nw, w); the default [[0, 1, 1, 1]] tiles nothing.</summary>
    public const string TilesName = "hypertile_tiles";

    /// <summary>The declared tiles input of one graph.</summary>
    internal sealed class Input
    {
        private readonly string _tiles;
        private readonly string _tokens;

        /// <summary>Declares the optional input.</summary>
        public Input(GraphBuilder g)
        {
            _tiles = g.OptionalInput(OnnxTensor.FromInt64s(TilesName, [0, 1, 1, 1], 1, 4), TensorElementType.Int64, "hypertile_depths", 4);
            _tokens = g.Squeeze(g.Slice(_tiles, [0], [1], [1]), 1);
        }

        /// <summary>Self-attention of <paramref name="q"/>, <paramref name="k"/>, <paramref name="v"/> ([B, N, C]), tiled when a row names N.</summary>
        public string Attend(GraphBuilder g, string q, string k, string v, int heads)
        {
            var tokens = g.Shape(q, 1, 2);
            var match = g.Cast(g.Node("Equal", [_tokens, tokens]), TensorElementType.Int64);
            var tiled = g.Node("Greater", [g.ReduceSum(match, [0], keepDims: true), g.Int64s(0)]);
            return g.If(tiled, b => Tiled(b, q, k, v, heads, tokens, match), b => b.MultiHeadAttention(q, k, v, heads));
        }

        private string Tiled(GraphBuilder g, string q, string k, string v, int heads, string tokens, string match)
        {
            // The matching row (counts are distinct, so the masked sum is that row).
            var row = g.ReduceSum(g.Mul(_tiles, g.Unsqueeze(match, 1)), [0], keepDims: false);
            var (nh, nw, w) = (g.Slice(row, [1], [2], [0]), g.Slice(row, [2], [3], [0]), g.Slice(row, [3], [4], [0]));
            var tileWidth = g.Div(w, nw);
            var tileTokens = g.Div(tokens, g.Mul(nh, nw));
            var (batch, channels, rest) = (g.Shape(q, 0, 1), g.Shape(q, 2, 3), g.Int64s(-1));
            var rows = g.Concat(0, rest, tileTokens, channels);
            // b (nh h nw w) c -> (b nh nw) (h w) c
            var grid = g.ReshapeLike(q, g.Concat(0, batch, nh, rest, nw, tileWidth, channels));
            var queries = g.ReshapeLike(g.Transpose(grid, 0, 1, 3, 2, 4, 5), rows);
            var attended = g.MultiHeadAttention(queries, g.ReshapeLike(k, rows), g.ReshapeLike(v, rows), heads);
            // (b nh nw) (h w) c -> b (nh h nw w) c
            var tiles = g.ReshapeLike(attended, g.Concat(0, batch, nh, nw, rest, tileWidth, channels));
            return g.ReshapeLike(g.Transpose(tiles, 0, 1, 3, 2, 4, 5), g.Concat(0, batch, rest, channels));
        }
    }
}
