namespace FlowDiffusion.Diffusion.Guidance;

/// <summary>
/// ComfyUI's TCFG, Tangential Damping CFG (arXiv 2503.18137), as its pre-CFG function runs on x₀ estimates: per batch item
/// the scores a = x − u and b = x − c form a 2 × N matrix; the unconditional score keeps only its part along the matrix's
/// first right singular vector v₁, and u becomes x − (a·v₁)·v₁. v₁ is computed from the 2 × 2 Gram matrix of a and b (its
/// top eigenvector w gives v₁ ∝ w₀·a + w₁·b), which is what torch's SVD of the 2 × N matrix gives up to v₁'s sign, which
/// the projection cancels.
/// </summary>
public static class TangentialDamping
{
    /// <summary>Replaces <paramref name="unconditional"/> by its damped estimate.</summary>
    /// <param name="unconditional">The unconditional x₀ estimate, [batch, …]; changed in place.</param>
    /// <param name="conditional">The conditional x₀ estimate.</param>
    /// <param name="x">The noisy latents the model saw, unscaled.</param>
    /// <param name="batch">Batch items, each its own matrix.</param>
    public static void Apply(Span<double> unconditional, ReadOnlySpan<double> conditional, ReadOnlySpan<double> x, int batch)
    {
        if (conditional.Length != unconditional.Length || x.Length != unconditional.Length || batch < 1 || unconditional.Length % batch != 0)
            throw new ArgumentException("the estimates and the latents must have the same length, a whole number of batch items");
        var item = unconditional.Length / batch;
        for (var b = 0; b < batch; b++)
        {
            var start = b * item;
            double aa = 0, ab = 0, bb = 0;
            for (var i = start; i < start + item; i++)
            {
                double a = x[i] - unconditional[i], c = x[i] - conditional[i];
                aa += a * a;
                ab += a * c;
                bb += c * c;
            }

            var (wa, wb, scale) = Projection(aa, ab, bb);
            for (var i = start; i < start + item; i++)
            {
                double a = x[i] - unconditional[i], c = x[i] - conditional[i];
                unconditional[i] = x[i] - (scale * ((wa * a) + (wb * c)));
            }
        }
    }

    // The damped score is scale·(wa·a + wb·b): with v₁ = (wa·a + wb·b)/‖…‖ and ‖wa·a + wb·b‖² = λ·‖w‖²,
    // (a·v₁)·v₁ = (wa·aa + wb·ab)/(λ·‖w‖²) · (wa·a + wb·b).
    private static (double Wa, double Wb, double Scale) Projection(double aa, double ab, double bb)
    {
        var lambda = ((aa + bb) / 2) + Math.Sqrt((((aa - bb) / 2) * ((aa - bb) / 2)) + (ab * ab));
        if (lambda <= 0) return (0, 0, 0);
        // Two forms of the eigenvector of [[aa, ab], [ab, bb]] for λ; the longer is the better conditioned.
        double w1a = ab, w1b = lambda - aa, w2a = lambda - bb, w2b = ab;
        var (wa, wb) = (w1a * w1a) + (w1b * w1b) >= (w2a * w2a) + (w2b * w2b) ? (w1a, w1b) : (w2a, w2b);
        var squared = (wa * wa) + (wb * wb);
        // Orthogonal scores of equal length (no preferred direction): v₁ is a's direction, as the first row wins the tie.
        if (squared == 0) return (1, 0, 1);
        return (wa, wb, ((wa * aa) + (wb * ab)) / (lambda * squared));
    }
}
