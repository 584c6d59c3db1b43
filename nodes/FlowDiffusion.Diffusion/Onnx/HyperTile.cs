namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// HyperTile (ComfyUI's HyperTile node, after tfernd's HyperTile) for a UNet graph built with its input: the self-attention
/// of every transformer block whose token count is the latent's h·w / 4^i for a depth i ≤ <paramref name="MaxDepth"/> attends
/// in tiles of about <paramref name="TileSize"/> image pixels a side. <see cref="Tiles"/> computes the graph's rows as
/// ComfyUI's patch computes its rearrange per call.
/// </summary>
/// <param name="TileSize">The tile's side in image pixels (ComfyUI's tile_size, 1 … 2048; below 32 counts as 32).</param>
/// <param name="SwapSize">ComfyUI's swap_size, 1 or 2: both always take the largest tile count (see <see cref="Problem"/>).</param>
/// <param name="MaxDepth">The deepest level tiled (0: the full-resolution blocks only).</param>
/// <param name="ScaleDepth">Whether the tile's side doubles at each deeper level.</param>
public sealed record HyperTile(int TileSize, int SwapSize, int MaxDepth, bool ScaleDepth)
{
    /// <summary>The graph's tiles input (int64 [D, 4], rows tokens, nh, nw, w).</summary>
    public const string TilesInput = "hypertile_tiles";

    /// <summary>The settings' problem naming the input, or null when they can be run as ComfyUI runs them.</summary>
    public string? Problem() =>
        TileSize is < 1 or > 2048 ? $"tile_size must be 1 … 2048, not {TileSize}"
        : SwapSize is < 1 or > 128 ? $"swap_size must be 1 … 128, not {SwapSize}"
        // ComfyUI draws the tile count from torch's global RNG among the first swap_size − 1 options when there are 3 or
        // more, so the result depends on everything else that drew from it; 1 and 2 never draw.
        : SwapSize > 2 ? $"swap_size {SwapSize} is not supported: from 3 up ComfyUI picks each tile count at random (torch's global RNG), which cannot be reproduced; use 1 or 2 (both take the largest tile count, as ComfyUI always does with them)"
        : MaxDepth is < 0 or > 10 ? $"max_depth must be 0 … 10, not {MaxDepth}"
        : null;

    /// <summary>
    /// The graph's rows for a latent of <paramref name="height"/> × <paramref name="width"/>: for each depth i ≤ max_depth
    /// whose token count (h / 2^i) · (w / 2^i) is a whole number, ComfyUI's grid (round(√(n · w/h)), round(√(n · h/w)),
    /// rounding half to even), the tile counts nh and nw (the grid's side over its smallest divisor not below the tile's
    /// latent side, max(32, tile_size) / 8, times 2^i with scale_depth) and the row (n, nh, nw, grid width) when nh·nw &gt; 1.
    /// Empty when nothing is tiled.
    /// </summary>
    public long[] Tiles(int height, int width)
    {
        if (Problem() is { } problem) throw new ArgumentException(problem);
        var tile = Math.Max(32, TileSize) / 8;
        var aspect = (double)width / height;
        var rows = new List<long>();
        for (var i = 0; i <= MaxDepth; i++)
        {
            var scale = Math.Pow(2, i);
            var count = height / scale * (width / scale);
            if (count != Math.Floor(count) || count < 1) continue; // no block's token count equals it
            var tokens = (long)count;
            long h = (long)Math.Round(Math.Sqrt(tokens * aspect)), w = (long)Math.Round(Math.Sqrt(tokens / aspect));
            var factor = ScaleDepth ? 1L << i : 1;
            var (nh, nw) = (LargestCount(h, tile * factor), LargestCount(w, tile * factor));
            if (nh * nw <= 1) continue;
            if (h * w != tokens)
            {
                throw new ArgumentException($"HyperTile cannot tile a {height}×{width} latent at depth {i}: its {tokens} tokens are not a {h}×{w} grid (ComfyUI fails there too); use a latent whose sides are multiples of 2^{MaxDepth} or a smaller max_depth");
            }

            rows.AddRange([tokens, nh, nw, w]);
        }

        return [.. rows];
    }

    // ComfyUI's random_divisor with its first option: side / d for the smallest divisor d of side that is at least min(least, side).
    private static long LargestCount(long side, long least)
    {
        if (side < 1) return 1;
        var d = Math.Min(least, side);
        while (side % d != 0) d++;
        return side / d;
    }
}
