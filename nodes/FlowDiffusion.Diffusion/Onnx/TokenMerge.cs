namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// Token merging (ComfyUI's TomePatchModel, after Bolya &amp; Hoffman's tomesd) for a UNet graph built with its inputs: in
/// every self-attention at the latent's full resolution (ComfyUI's max_downsample 1) the queries of r = int(tokens · ratio)
/// tokens are merged into their most similar neighbour before attention. <see cref="Tokens"/> computes the graph's token
/// order as ComfyUI's patch partitions the tokens, with one difference: the dst of each 2 × 2 cell is its first (top-left)
/// token (tomesd's no_rand), where ComfyUI draws one at random at every call, which cannot be reproduced.
/// </summary>
/// <param name="Ratio">The share of the tokens merged away (ComfyUI's ratio, 0 … 1; 0 merges nothing).</param>
public sealed record TokenMerge(double Ratio)
{
    /// <summary>The graph's token order input (int64 [N]: the dst tokens first, then the srcs).</summary>
    public const string OrderInput = "tome_order";

    /// <summary>The graph's counts input (int64 [2]: the dst count and r).</summary>
    public const string CountsInput = "tome_counts";

    /// <summary>The settings' problem naming the input, or null when they can be run.</summary>
    public string? Problem() => Ratio is >= 0 and <= 1 ? null : $"ratio must be 0 … 1, not {Ratio}";

    /// <summary>
    /// The graph's inputs for a latent of <paramref name="height"/> × <paramref name="width"/>: the token indices (row-major)
    /// of the (h / 2) · (w / 2) cells' first tokens, then every other token in order (an odd side's last row or column is
    /// src only), the dst count, and r = min(int(h · w · ratio), the src count). Null where ComfyUI merges nothing (r = 0,
    /// or a side of 1).
    /// </summary>
    public (long[] Order, long Dsts, long Merged)? Tokens(int height, int width)
    {
        if (Problem() is { } problem) throw new ArgumentException(problem);
        var tokens = (long)height * width;
        var merged = (long)(tokens * Ratio); // Python's int(x.shape[1] * ratio) on a double
        if (merged <= 0 || height == 1 || width == 1) return null;
        var (cellsH, cellsW) = (height / 2, width / 2);
        var dst = new bool[tokens];
        var order = new List<long>((int)tokens);
        for (var y = 0; y < cellsH; y++)
        {
            for (var x = 0; x < cellsW; x++)
            {
                var index = 2L * y * width + 2L * x;
                dst[index] = true;
                order.Add(index);
            }
        }

        var dsts = order.Count;
        for (var t = 0L; t < tokens; t++)
        {
            if (!dst[t]) order.Add(t);
        }

        return ([.. order], dsts, Math.Min(merged, tokens - dsts));
    }
}
