namespace FlowDiffusion.Diffusion.Guidance;

/// <summary>
/// ComfyUI's Mahiro, as its post-CFG function runs on x₀ estimates: with the leap s·c and the guided estimate g, the signed
/// square roots of s·u and of (s·c + g)/2 are compared by their cosine over the channels at each pixel (each vector's
/// length at least 10⁻⁸, as torch's cosine_similarity clamps it), averaged over every pixel of every batch item into one
/// similarity σ; with w = 2·(σ + 1) the result is (w·g + (4 − w)·s·c)/4 — more of the plain leap the less alike they are.
/// </summary>
public static class MahiroGuidance
{
    /// <summary>Mixes <paramref name="guided"/> with the leap in place.</summary>
    /// <param name="guided">The guided x₀ estimate, [batch, channels, h, w].</param>
    /// <param name="conditional">The conditional x₀ estimate (after any pre-CFG patch).</param>
    /// <param name="unconditional">The unconditional x₀ estimate (zeros where ComfyUI skips it at scale 1).</param>
    /// <param name="scale">The CFG scale.</param>
    /// <param name="batch">Batch items.</param>
    /// <param name="channels">Channels, the dimension the cosine runs over.</param>
    /// <param name="plane">h · w.</param>
    public static void Apply(Span<double> guided, ReadOnlySpan<double> conditional, ReadOnlySpan<double> unconditional, double scale, int batch, int channels, int plane)
    {
        if (conditional.Length != guided.Length || unconditional.Length != guided.Length || guided.Length != batch * channels * plane)
            throw new ArgumentException("the estimates must all be [batch, channels, h, w]");
        double total = 0;
        for (var b = 0; b < batch; b++)
        {
            for (var p = 0; p < plane; p++)
            {
                double dot = 0, uu = 0, mm = 0;
                for (var c = 0; c < channels; c++)
                {
                    var i = ((b * channels) + c) * plane + p;
                    var rootU = SignedRoot(unconditional[i] * scale);
                    var rootM = SignedRoot(((conditional[i] * scale) + guided[i]) / 2);
                    dot += rootU * rootM;
                    uu += rootU * rootU;
                    mm += rootM * rootM;
                }

                total += dot / (Math.Max(Math.Sqrt(uu), 1e-8) * Math.Max(Math.Sqrt(mm), 1e-8));
            }
        }

        var weight = 2 * ((total / (batch * plane)) + 1);
        for (var i = 0; i < guided.Length; i++) guided[i] = ((weight * guided[i]) + ((4 - weight) * conditional[i] * scale)) / 4;
    }

    private static double SignedRoot(double value) => Math.Sqrt(Math.Abs(value)) * Math.Sign(value);
}
