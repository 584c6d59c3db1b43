namespace FlowDiffusion.Diffusion.Guidance;

/// <summary>
/// ComfyUI's CFGZeroStar (Fan et al. 2025, CFG-Zero*), as its post-CFG function runs on x₀ estimates: per batch item,
/// α = ⟨x − c, x − u⟩ / (‖x − u‖² + 10⁻⁸), and the guided estimate moves by (s − 1)·(1 − α)·u, which turns
/// u + s·(c − u) into α·u + s·(c − α·u). ComfyUI's node has no zero-init steps.
/// </summary>
public static class CfgZeroStar
{
    /// <summary>Applies the optimised scale to <paramref name="guided"/> in place.</summary>
    /// <param name="guided">The guided x₀ estimate, [batch, …].</param>
    /// <param name="conditional">The conditional x₀ estimate (after any pre-CFG patch).</param>
    /// <param name="unconditional">The unconditional x₀ estimate (zeros where ComfyUI skips it at scale 1).</param>
    /// <param name="x">The noisy latents the model saw, unscaled.</param>
    /// <param name="scale">The CFG scale.</param>
    /// <param name="batch">Batch items, each with its own α.</param>
    public static void Apply(Span<double> guided, ReadOnlySpan<double> conditional, ReadOnlySpan<double> unconditional, ReadOnlySpan<double> x, double scale, int batch)
    {
        if (conditional.Length != guided.Length || unconditional.Length != guided.Length || x.Length != guided.Length || batch < 1 || guided.Length % batch != 0)
            throw new ArgumentException("the estimates and the latents must have the same length, a whole number of batch items");
        var item = guided.Length / batch;
        for (var b = 0; b < batch; b++)
        {
            double dot = 0, squares = 0;
            for (var i = b * item; i < (b + 1) * item; i++)
            {
                var n = x[i] - unconditional[i];
                dot += (x[i] - conditional[i]) * n;
                squares += n * n;
            }

            var alpha = dot / (squares + 1e-8);
            for (var i = b * item; i < (b + 1) * item; i++) guided[i] += (scale - 1) * (1 - alpha) * unconditional[i];
        }
    }
}
