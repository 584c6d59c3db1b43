namespace FlowDiffusion.Diffusion.Guidance;

/// <summary>
/// ComfyUI's EpsilonScaling (Ning et al., "Elucidating the Exposure Bias in Diffusion Models", uniform schedule), as its
/// post-CFG function runs on the guided x₀ estimate g: the noise x − g is divided by the factor, g ← x − (x − g)/factor,
/// x the noisy latents the model saw (unscaled). For an ε-model that divides the guided ε by the factor; for a v-model
/// it acts on the same x₀ estimate, as ComfyUI's does.
/// </summary>
public static class EpsilonScaling
{
    /// <summary>Scales the noise of <paramref name="guided"/> in place.</summary>
    /// <param name="guided">The guided x₀ estimate.</param>
    /// <param name="x">The noisy latents, same length.</param>
    /// <param name="factor">The divisor (ComfyUI's range 0.5 … 1.5; not 0).</param>
    public static void Apply(Span<double> guided, ReadOnlySpan<double> x, double factor)
    {
        if (x.Length != guided.Length) throw new ArgumentException("the estimate and the latents must have the same length");
        if (factor == 0) throw new ArgumentException("epsilon scaling divides by its factor, so it cannot be 0");
        for (var i = 0; i < guided.Length; i++) guided[i] = x[i] - ((x[i] - guided[i]) / factor);
    }
}
