namespace FlowDiffusion.Diffusion.Guidance;

/// <summary>
/// ComfyUI's CFGNorm, as its post-CFG function runs on x₀ estimates: at each pixel of each batch item the guided
/// estimate's channel vector is scaled by min(1, ‖c‖ / (‖guided‖ + 10⁻⁸)) — no longer than the conditional estimate's —
/// and then by the strength.
/// </summary>
public static class CfgNorm
{
    /// <summary>Caps and scales <paramref name="guided"/> in place.</summary>
    /// <param name="guided">The guided x₀ estimate, [batch, channels, h, w].</param>
    /// <param name="conditional">The conditional x₀ estimate (after any pre-CFG patch), same shape.</param>
    /// <param name="strength">The factor on the result (ComfyUI's range 0 … 100).</param>
    /// <param name="batch">Batch items.</param>
    /// <param name="channels">Channels, the dimension the norms run over.</param>
    /// <param name="plane">h · w.</param>
    public static void Apply(Span<double> guided, ReadOnlySpan<double> conditional, double strength, int batch, int channels, int plane)
    {
        if (conditional.Length != guided.Length || guided.Length != batch * channels * plane)
            throw new ArgumentException("the estimates must both be [batch, channels, h, w]");
        for (var b = 0; b < batch; b++)
        {
            for (var p = 0; p < plane; p++)
            {
                double wanted = 0, have = 0;
                for (var c = 0; c < channels; c++)
                {
                    var i = ((b * channels) + c) * plane + p;
                    wanted += conditional[i] * conditional[i];
                    have += guided[i] * guided[i];
                }

                var factor = Math.Clamp(Math.Sqrt(wanted) / (Math.Sqrt(have) + 1e-8), 0, 1) * strength;
                for (var c = 0; c < channels; c++) guided[((b * channels) + c) * plane + p] *= factor;
            }
        }
    }
}
