namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// ComfyUI's token weighting (its <c>encode_token_weights</c>): each token whose weight is not 1 gets
/// e + w·(h − e), h its hidden state and e the empty prompt's at the same position; the others are left alone. A1111
/// instead scales the hidden states and restores the window's mean (<see cref="OnnxTextEncoder.ApplyWeights"/>).
/// </summary>
internal static class ComfyTokenWeights
{
    /// <summary>Weighs the features <paramref name="offset"/> … <paramref name="offset"/> + <paramref name="width"/> of each token of one window.</summary>
    /// <param name="hidden">The window's hidden states, [tokens, dim].</param>
    /// <param name="empty">The empty prompt's hidden states for these features, [tokens, width].</param>
    /// <param name="weights">The tokens' weights.</param>
    /// <param name="offset">The first feature.</param>
    /// <param name="width">The features weighed.</param>
    /// <param name="dim">The features per token in <paramref name="hidden"/>.</param>
    public static void Apply(Span<float> hidden, ReadOnlySpan<float> empty, IReadOnlyList<float> weights, int offset, int width, int dim)
    {
        for (var t = 0; t < weights.Count; t++)
        {
            var w = weights[t];
            if (w == 1f) continue;
            var row = hidden.Slice((t * dim) + offset, width);
            var e = empty.Slice(t * width, width);
            for (var i = 0; i < width; i++) row[i] = ((row[i] - e[i]) * w) + e[i];
        }
    }
}
