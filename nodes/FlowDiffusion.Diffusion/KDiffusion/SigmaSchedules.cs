namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// ComfyUI's <c>scheduler</c> values: the rules that turn a model's training sigmas and a step count into the N + 1
/// descending sigmas a k-diffusion sampler walks (the last is 0). Float32 results, as ComfyUI's tensors hold them.
/// </summary>
public static class SigmaSchedules
{
    /// <summary>The supported schedule names, in ComfyUI's order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta", "linear_quadratic", "kl_optimal"];

    /// <summary>ComfyUI schedule names this engine does not compute (yet); asking for one is an error that says so.</summary>
    public static IReadOnlyList<string> Unsupported { get; } = ["AYS SDXL", "AYS SD1", "AYS SVD", "GITS[coeff=1.2]"];

    /// <summary>The longest schedule computed: a small denoise over many steps asks for ⌊steps / denoise⌋ of them.</summary>
    public const int MaxScheduleSteps = 1_000_000;

    /// <summary>The sigmas of schedule <paramref name="name"/> for <paramref name="steps"/> steps.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="sampling">The model's noise schedule.</param>
    /// <param name="steps">Steps (≥ 1).</param>
    /// <exception cref="ArgumentException">An unknown or unsupported name, or steps below 1.</exception>
    public static float[] Compute(string name, DiscreteModelSampling sampling, int steps)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        if (steps < 1) throw new ArgumentException($"steps must be at least 1, got {steps}.", nameof(steps));
        return name switch
        {
            "normal" => Normal(sampling, steps, sgm: false),
            "sgm_uniform" => Normal(sampling, steps, sgm: true),
            "karras" => Karras(sampling.SigmaMin, sampling.SigmaMax, steps),
            "exponential" => Exponential(sampling.SigmaMin, sampling.SigmaMax, steps),
            "simple" => Simple(sampling, steps),
            "ddim_uniform" => DdimUniform(sampling, steps),
            "beta" => Beta(sampling, steps, 0.6, 0.6),
            "linear_quadratic" => LinearQuadratic(sampling.SigmaMax, steps, 0.025),
            "kl_optimal" => KlOptimal(sampling.SigmaMin, sampling.SigmaMax, steps),
            _ when Unsupported.Contains(name) => throw new ArgumentException($"scheduler '{name}' is a ComfyUI schedule FlowDiffusion does not compute yet; use one of: {string.Join(", ", Names)}.", nameof(name)),
            _ => throw new ArgumentException($"unknown scheduler '{name}'; valid values: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    /// <summary>
    /// KSampler's <c>denoise</c>: below 1 it computes the schedule for ⌊steps / denoise⌋ steps and keeps the last
    /// steps + 1 sigmas, so img2img starts part-way down the full schedule; 0 or less gives no sigmas (nothing to do).
    /// </summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="sampling">The model's noise schedule.</param>
    /// <param name="steps">Steps (≥ 1).</param>
    /// <param name="denoise">The denoise fraction in [0, 1].</param>
    /// <param name="discardPenultimate">
    /// KSampler's rule for the samplers of <see cref="KSamplers.DiscardsPenultimateSigma"/>: the schedule is computed for one
    /// step more and its sigma before the last dropped, so those samplers do not spend their last step on a tiny interval.
    /// </param>
    public static float[] WithDenoise(string name, DiscreteModelSampling sampling, int steps, double denoise, bool discardPenultimate = false)
    {
        if (denoise > 0.9999) return Compute(name, sampling, steps, discardPenultimate);
        if (denoise <= 0) return [];
        var total = Math.Floor(steps / denoise);
        if (total > MaxScheduleSteps)
            throw new ArgumentException($"denoise {denoise.ToString(System.Globalization.CultureInfo.InvariantCulture)} at {steps} steps asks for a schedule of {total:0} steps (steps / denoise); at most {MaxScheduleSteps:N0}: raise denoise or lower steps.", nameof(denoise));
        var all = Compute(name, sampling, (int)total, discardPenultimate);
        return all[^Math.Min(all.Length, steps + 1)..];
    }

    private static float[] Compute(string name, DiscreteModelSampling sampling, int steps, bool discardPenultimate)
    {
        if (!discardPenultimate) return Compute(name, sampling, steps);
        var sigmas = Compute(name, sampling, steps + 1);
        return sigmas.Length < 2 ? sigmas : [.. sigmas[..^2], sigmas[^1]];
    }

    /// <summary>
    /// KSamplerAdvanced's step window: sigmas up to <paramref name="endStep"/> (the last one forced to 0 when
    /// <paramref name="forceFullDenoise"/>), then from <paramref name="startStep"/>; an empty result means there is nothing to sample.
    /// </summary>
    /// <param name="sigmas">The full schedule.</param>
    /// <param name="startStep">The first step to run.</param>
    /// <param name="endStep">The step to stop at.</param>
    /// <param name="forceFullDenoise">Whether the window ends at sigma 0 (no leftover noise).</param>
    public static float[] Window(float[] sigmas, int startStep, int endStep, bool forceFullDenoise)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        var result = sigmas;
        if (endStep < result.Length - 1)
        {
            result = result[..(Math.Max(endStep, 0) + 1)];
            if (forceFullDenoise) result[^1] = 0;
        }

        if (startStep <= 0) return result;
        return startStep < result.Length - 1 ? result[startStep..] : [];
    }

    private static float[] Normal(DiscreteModelSampling s, int steps, bool sgm)
    {
        float start = s.Timestep(s.SigmaMax), end = s.Timestep(s.SigmaMin);
        var appendZero = true;
        float[] timesteps;
        if (sgm)
        {
            timesteps = TorchLinspace(start, end, steps + 1)[..^1];
        }
        else
        {
            if (Math.Abs(s.Sigma(end)) <= 1e-5)
            {
                steps++;
                appendZero = false;
            }

            timesteps = TorchLinspace(start, end, steps);
        }

        var sigmas = timesteps.Select(s.Sigma);
        return (appendZero ? sigmas.Append(0f) : sigmas).ToArray();
    }

    /// <summary>Karras et al.'s schedule (k-diffusion's get_sigmas_karras): evenly spaced in σ^(1/ρ) from max to min, then 0.</summary>
    /// <param name="sigmaMin">The smallest sigma.</param>
    /// <param name="sigmaMax">The largest sigma.</param>
    /// <param name="steps">Steps (≥ 1).</param>
    /// <param name="rho">ρ (7 in the paper).</param>
    public static float[] Karras(double sigmaMin, double sigmaMax, int steps, double rho = 7)
    {
        var ramp = TorchLinspace(0, 1, steps);
        var minInv = (float)Math.Pow(sigmaMin, 1 / rho);
        var maxInv = (float)Math.Pow(sigmaMax, 1 / rho);
        return ramp.Select(r => MathF.Pow(maxInv + r * (minInv - maxInv), (float)rho)).Append(0f).ToArray();
    }

    /// <summary>k-diffusion's get_sigmas_exponential: evenly spaced in log σ from max to min, then 0.</summary>
    /// <param name="sigmaMin">The smallest sigma.</param>
    /// <param name="sigmaMax">The largest sigma.</param>
    /// <param name="steps">Steps (≥ 1).</param>
    public static float[] Exponential(double sigmaMin, double sigmaMax, int steps) =>
        TorchLinspace((float)Math.Log(sigmaMax), (float)Math.Log(sigmaMin), steps).Select(MathF.Exp).Append(0f).ToArray();

    private static float[] Simple(DiscreteModelSampling s, int steps)
    {
        var stride = (double)s.Sigmas.Count / steps;
        return Enumerable.Range(0, steps).Select(x => s.Sigmas[s.Sigmas.Count - 1 - (int)(x * stride)]).Append(0f).ToArray();
    }

    private static float[] DdimUniform(DiscreteModelSampling s, int steps)
    {
        var sigmas = new List<float>();
        var x = 1;
        if (Math.Abs(s.Sigmas[x]) > 1e-5) sigmas.Add(0f);
        else steps++;
        var stride = Math.Max(s.Sigmas.Count / steps, 1);
        for (; x < s.Sigmas.Count; x += stride) sigmas.Add(s.Sigmas[x]);
        sigmas.Reverse();
        return [.. sigmas];
    }

    private static float[] Beta(DiscreteModelSampling s, int steps, double alpha, double beta)
    {
        var total = s.Sigmas.Count - 1;
        var sigmas = new List<float>();
        var last = -1.0;
        for (var i = 0; i < steps; i++)
        {
            // 1 − linspace(0, 1, steps, endpoint=False), then the beta quantile, scaled and rounded half to even as numpy.rint does.
            var q = 1 - (double)i / steps;
            var t = Math.Round(BetaDistribution.Quantile(q, alpha, beta) * total, MidpointRounding.ToEven);
            if (t == last) continue;
            sigmas.Add(s.Sigmas[(int)t]);
            last = t;
        }

        sigmas.Add(0f);
        return [.. sigmas];
    }

    // Linear in the noise fraction for the first half of the steps (up to threshold), quadratic after; ComfyUI computes the
    // fractions in double and scales them by the float32 sigma_max. One step is [sigma_max, 0].
    private static float[] LinearQuadratic(float sigmaMax, int steps, double threshold)
    {
        var fractions = new List<double>(steps + 1);
        if (steps == 1)
        {
            fractions.AddRange([1.0, 0.0]);
        }
        else
        {
            var linearSteps = steps / 2;
            for (var i = 0; i < linearSteps; i++) fractions.Add(i * threshold / linearSteps);
            var stepDiff = linearSteps - threshold * steps;
            var quadraticSteps = steps - linearSteps;
            var quadratic = stepDiff / (linearSteps * (double)quadraticSteps * quadraticSteps);
            var linear = threshold / linearSteps - 2 * stepDiff / ((double)quadraticSteps * quadraticSteps);
            var constant = quadratic * linearSteps * linearSteps;
            for (var i = linearSteps; i < steps; i++) fractions.Add(quadratic * i * i + linear * i + constant);
            fractions.Add(1.0);
            for (var i = 0; i < fractions.Count; i++) fractions[i] = 1.0 - fractions[i];
        }

        return fractions.Select(f => (float)f * sigmaMax).ToArray();
    }

    // Evenly spaced in arctan σ from sigma_max to sigma_min (float32, as ComfyUI's tensor), then 0. ComfyUI divides by
    // steps − 1, which for one step is 0/0; here one step is [sigma_max, 0], the formula's first point.
    private static float[] KlOptimal(float sigmaMin, float sigmaMax, int steps)
    {
        float low = (float)Math.Atan(sigmaMin), high = (float)Math.Atan(sigmaMax);
        var sigmas = new float[steps + 1];
        for (var i = 0; i < steps; i++)
        {
            var fraction = steps == 1 ? 0f : i / (float)(steps - 1);
            sigmas[i] = MathF.Tan(fraction * low + (1 - fraction) * high);
        }

        return sigmas;
    }

    /// <summary>torch.linspace on float32: a float step, filled from both ends towards the middle.</summary>
    internal static float[] TorchLinspace(float start, float end, int count)
    {
        if (count == 1) return [start];
        var values = new float[count];
        var step = (end - start) / (count - 1);
        for (var i = 0; i < count; i++) values[i] = i < count / 2 ? start + step * i : end - step * (count - i - 1);
        return values;
    }
}
