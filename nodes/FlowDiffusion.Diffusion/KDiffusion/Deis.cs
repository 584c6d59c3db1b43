namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// DEIS's "tab" coefficients (Zhang &amp; Chen 2023) as ComfyUI's deis sampler computes them: the sigmas mapped to the
/// variance-preserving time t of EDM's VP fit (σ_min 0.002, σ_max 80, ε 10⁻³), and for each step of order p ≥ 2 the
/// integrals over [t, t_next] of the exponential integrator's weight −½ (d log α / dτ) / √(α (1 − α)) times the
/// Lagrange basis polynomials through the last p times, by ComfyUI's Riemann sum of 10,000 points. Computed in double.
/// </summary>
internal static class Deis
{
    private const int Points = 10000;

    /// <summary>The coefficients per step (empty for first-order steps and steps to 0); step i's j-th multiplies the derivative j steps back.</summary>
    /// <param name="sigmas">The schedule, descending, ending in 0.</param>
    /// <param name="maxOrder">The highest order (ComfyUI: 3).</param>
    public static double[][] Coefficients(IReadOnlyList<float> sigmas, int maxOrder)
    {
        const double epsilon = 1e-3, edmMin = 0.002, edmMax = 80;
        var betaD = 2 * (Math.Log(edmMin * edmMin + 1) / epsilon - Math.Log(edmMax * edmMax + 1)) / (epsilon - 1);
        var betaMin = Math.Log(edmMax * edmMax + 1) - 0.5 * betaD;
        double beta0 = betaMin, beta1 = betaD + betaMin;
        var t = sigmas.Select(s => (Math.Sqrt(betaMin * betaMin + 2 * betaD * Math.Log((double)s * s + 1)) - betaMin) / betaD).ToArray();

        var result = new double[sigmas.Count - 1][];
        for (var i = 0; i < result.Length; i++)
        {
            var order = Math.Min(i + 1, maxOrder);
            // The sampler takes a first-order step to sigma 0; ComfyUI computes (and never uses) an integral that diverges there.
            if (order == 1 || sigmas[i + 1] <= 0)
            {
                result[i] = [];
                continue;
            }

            var previous = Enumerable.Range(0, order).Select(k => t[i - k]).ToArray();
            var step = (t[i + 1] - t[i]) / Points;
            var coefficients = new double[order];
            for (var n = 0; n < Points; n++)
            {
                // torch.linspace(t_cur, t_next, N): both ends included.
                var tau = n == Points - 1 ? t[i + 1] : t[i] + (t[i + 1] - t[i]) * n / (Points - 1);
                var alpha = Math.Exp(-0.5 * tau * tau * (beta1 - beta0) - tau * beta0);
                var weight = -0.5 * (-tau * (beta1 - beta0) - beta0) / Math.Sqrt(alpha * (1 - alpha));
                for (var j = 0; j < order; j++)
                {
                    var basis = 1.0;
                    for (var k = 0; k < order; k++)
                        if (k != j) basis *= (tau - previous[k]) / (previous[j] - previous[k]);
                    coefficients[j] += weight * basis * step;
                }
            }

            result[i] = coefficients;
        }

        return result;
    }
}
