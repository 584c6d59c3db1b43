namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Sigma-grid helpers that diffusers runs in NumPy double precision: interpolation of the training sigmas at
/// fractional timesteps, the inverse map sigma → timestep, and the Karras et al. (2022) rho-spacing.
/// </summary>
public static class SigmaSpacing
{
    /// <summary>The rho of Karras et al. (2022), eq. 5.</summary>
    public const double KarrasRho = 7.0;

    /// <summary>numpy.interp(timesteps, arange(n), sigmas): the training sigmas linearly interpolated at each timestep.</summary>
    /// <param name="timesteps">The (possibly fractional) timesteps.</param>
    /// <param name="trainingSigmas">The training sigmas, indexed by integer timestep.</param>
    public static double[] Interpolate(IReadOnlyList<double> timesteps, ReadOnlySpan<float> trainingSigmas)
    {
        var result = new double[timesteps.Count];
        var last = trainingSigmas.Length - 1;
        for (var i = 0; i < result.Length; i++)
        {
            var t = timesteps[i];
            if (t <= 0) result[i] = trainingSigmas[0];
            else if (t >= last) result[i] = trainingSigmas[last];
            else
            {
                var j = (int)Math.Floor(t);
                double slope = (double)trainingSigmas[j + 1] - trainingSigmas[j];
                result[i] = slope * (t - j) + trainingSigmas[j];
            }
        }

        return result;
    }

    /// <summary>The Karras sigmas: (σ_max^(1/ρ) + ramp·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ over a linspace ramp.</summary>
    /// <param name="sigmaMin">The smallest sigma.</param>
    /// <param name="sigmaMax">The largest sigma.</param>
    /// <param name="steps">The number of sigmas.</param>
    public static double[] Karras(double sigmaMin, double sigmaMax, int steps)
    {
        var ramp = TimestepSpacing.Linspace(0, 1, steps);
        var minInvRho = Math.Pow(sigmaMin, 1 / KarrasRho);
        var maxInvRho = Math.Pow(sigmaMax, 1 / KarrasRho);
        return ramp.Select(r => Math.Pow(maxInvRho + r * (minInvRho - maxInvRho), KarrasRho)).ToArray();
    }

    /// <summary>
    /// The fractional timestep whose log-sigma matches: linear interpolation between the two neighbouring training
    /// log-sigmas, clamped to the training range (diffusers <c>_sigma_to_t</c>).
    /// </summary>
    /// <param name="sigma">The sigma to place.</param>
    /// <param name="logSigmas">The float32 log training sigmas, ascending.</param>
    public static double ToTimestep(double sigma, ReadOnlySpan<float> logSigmas)
    {
        var logSigma = Math.Log(Math.Max(sigma, 1e-10));
        var low = 0;
        for (var i = 0; i < logSigmas.Length; i++)
        {
            if (logSigma - logSigmas[i] >= 0) low = i;
        }

        low = Math.Min(low, logSigmas.Length - 2);
        double lowLog = logSigmas[low], highLog = logSigmas[low + 1];
        var w = Math.Clamp((lowLog - logSigma) / (lowLog - highLog), 0, 1);
        return (1 - w) * low + w * (low + 1);
    }
}
