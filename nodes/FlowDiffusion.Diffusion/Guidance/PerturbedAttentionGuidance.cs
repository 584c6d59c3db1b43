namespace FlowDiffusion.Diffusion.Guidance;

/// <summary>
/// Perturbed-attention guidance (Ahn et al. 2024, "Self-Rectifying Diffusion Sampling with Perturbed-Attention
/// Guidance"), as ComfyUI's PerturbedAttentionGuidance runs it: a post-CFG function on x₀ estimates that adds
/// scale · (c − p) to the guided estimate, c the conditional estimate and p the conditional one of the UNet whose
/// middle-block self-attentions are replaced by their value projections.
/// </summary>
public static class PerturbedAttentionGuidance
{
    /// <summary>
    /// guided += scale · (c − p) element-wise, the perturbed estimate p = skip · x + output · <paramref name="perturbed"/>
    /// made from the perturbed model's prediction as the others are.
    /// </summary>
    /// <param name="guided">The guided x₀ estimate, changed in place.</param>
    /// <param name="conditional">The conditional x₀ estimate.</param>
    /// <param name="perturbed">The perturbed model's prediction (ε, v or the EDM output), as long as <paramref name="guided"/>.</param>
    /// <param name="x">The unscaled latents.</param>
    /// <param name="skip">c_skip at this sigma.</param>
    /// <param name="output">c_out at this sigma.</param>
    /// <param name="scale">PAG's scale.</param>
    public static void Apply(Span<double> guided, ReadOnlySpan<double> conditional, ReadOnlySpan<float> perturbed, ReadOnlySpan<double> x, double skip, double output, double scale)
    {
        if (conditional.Length < guided.Length || perturbed.Length < guided.Length || x.Length < guided.Length)
            throw new ArgumentException("the perturbed prediction or the estimates are shorter than the guided one");
        for (var k = 0; k < guided.Length; k++) guided[k] += (conditional[k] - ((skip * x[k]) + (output * (double)perturbed[k]))) * scale;
    }
}
