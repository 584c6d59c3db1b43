namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// ComfyUI's <c>scheduler</c> values: the rules that turn a model's sigmas (discrete or continuous) and a step count into the N + 1
/// descending sigmas a k-diffusion sampler walks (the last is 0). Float32 results, as ComfyUI's tensors hold them.
/// </summary>
public static class SigmaSchedules
{
    /// <summary>The supported schedule names, in ComfyUI's order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta", "linear_quadratic", "kl_optimal"];

    /// <summary>
    /// The names ComfyUI extensions (the Impact Pack and others) add to KSampler's list: Align Your Steps and GITS at
    /// coefficient 1.2, each computed for the steps asked (denoise 1), KSampler's denoise rule then applied as for the others.
    /// </summary>
    public static IReadOnlyList<string> ExtensionNames { get; } = ["AYS SDXL", "AYS SD1", "AYS SVD", "GITS[coeff=1.2]"];

    /// <summary>
    /// SDTurboScheduler's schedule, which no KSampler lists but diffusion.ksampler takes so that it is computed from the
    /// model at run time: steps of the timesteps 999, 899 … 99, starting 10 − ⌊10 · denoise⌋ of them in, then 0.
    /// </summary>
    public const string SdTurbo = "sd_turbo";

    /// <summary>The longest schedule computed: a small denoise over many steps asks for ⌊steps / denoise⌋ of them.</summary>
    public const int MaxScheduleSteps = 1_000_000;

    /// <summary>The sigmas of schedule <paramref name="name"/> for <paramref name="steps"/> steps.</summary>
    /// <param name="name">One of <see cref="Names"/> or <see cref="ExtensionNames"/>, or <see cref="SdTurbo"/> (at denoise 1).</param>
    /// <param name="sampling">The model's noise schedule.</param>
    /// <param name="steps">Steps (≥ 1).</param>
    /// <param name="betaAlpha">The beta schedule's α (ComfyUI's BetaSamplingScheduler; KSampler's beta is 0.6).</param>
    /// <param name="betaBeta">The beta schedule's β (0.6 for KSampler's beta).</param>
    /// <exception cref="ArgumentException">An unknown name, or steps below 1.</exception>
    public static float[] Compute(string name, IModelSampling sampling, int steps, double betaAlpha = 0.6, double betaBeta = 0.6)
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
            "beta" => Beta(sampling, steps, betaAlpha, betaBeta),
            "linear_quadratic" => LinearQuadratic(sampling.SigmaMax, steps, 0.025),
            "kl_optimal" => KlOptimal(sampling.SigmaMin, sampling.SigmaMax, steps),
            "AYS SD1" or "AYS SDXL" or "AYS SVD" => AlignYourSteps.Sigmas(name[4..], steps, 1),
            "GITS[coeff=1.2]" => Gits.Sigmas(1.2, steps, 1),
            SdTurbo => SdTurboSigmas(sampling, steps, 1),
            _ => throw new ArgumentException($"unknown scheduler '{name}'; valid values: {string.Join(", ", Names.Concat(ExtensionNames))}.", nameof(name)),
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
    /// <param name="betaAlpha">The beta schedule's α.</param>
    /// <param name="betaBeta">The beta schedule's β.</param>
    public static float[] WithDenoise(string name, IModelSampling sampling, int steps, double denoise, bool discardPenultimate = false, double betaAlpha = 0.6, double betaBeta = 0.6)
    {
        // SDTurboScheduler reads denoise itself (where in its ten timesteps to start), and has no KSampler rule to follow.
        if (name == SdTurbo) return SdTurboSigmas(sampling, steps, denoise);
        if (denoise > 0.9999) return Compute(name, sampling, steps, discardPenultimate, betaAlpha, betaBeta);
        if (denoise <= 0) return [];
        var total = Math.Floor(steps / denoise);
        if (total > MaxScheduleSteps)
            throw new ArgumentException($"denoise {denoise.ToString(System.Globalization.CultureInfo.InvariantCulture)} at {steps} steps asks for a schedule of {total:0} steps (steps / denoise); at most {MaxScheduleSteps:N0}: raise denoise or lower steps.", nameof(denoise));
        var all = Compute(name, sampling, (int)total, discardPenultimate, betaAlpha, betaBeta);
        return all[^Math.Min(all.Length, steps + 1)..];
    }

    private static float[] Compute(string name, IModelSampling sampling, int steps, bool discardPenultimate, double betaAlpha, double betaBeta)
    {
        if (!discardPenultimate) return Compute(name, sampling, steps, betaAlpha, betaBeta);
        var sigmas = Compute(name, sampling, steps + 1, betaAlpha, betaBeta);
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

    private static float[] Normal(IModelSampling s, int steps, bool sgm)
    {
        float start = s.TimestepOf(s.SigmaMax), end = s.TimestepOf(s.SigmaMin);
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

    private static float[] Simple(IModelSampling s, int steps)
    {
        var stride = (double)s.Sigmas.Count / steps;
        return Enumerable.Range(0, steps).Select(x => s.Sigmas[s.Sigmas.Count - 1 - (int)(x * stride)]).Append(0f).ToArray();
    }

    private static float[] DdimUniform(IModelSampling s, int steps)
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

    /// <summary>
    /// ComfyUI's beta schedule (Lee et al. 2024): the model's training sigmas at the Beta(α, β) quantiles of
    /// 1, 1 − 1/steps … 1/steps, rounded to a timestep, a repeated timestep kept once, then 0.
    /// </summary>
    /// <param name="s">The model's noise schedule.</param>
    /// <param name="steps">Steps (≥ 1).</param>
    /// <param name="alpha">α, above 0.</param>
    /// <param name="beta">β, above 0.</param>
    public static float[] Beta(IModelSampling s, int steps, double alpha, double beta)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (!(alpha > 0) || !(beta > 0)) throw new ArgumentException($"the beta schedule's alpha and beta must be above 0, got {alpha.ToString(System.Globalization.CultureInfo.InvariantCulture)} and {beta.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
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

    /// <summary>
    /// SDTurboScheduler: the model's sigmas at <paramref name="steps"/> of the timesteps 999, 899 … 99, starting
    /// 10 − ⌊10 · denoise⌋ of them in (fewer where the ten run out), then 0; denoise 0 leaves only the 0.
    /// </summary>
    /// <param name="s">The model's noise schedule (zsnr and prediction type already applied).</param>
    /// <param name="steps">Steps (≥ 1; ComfyUI's node takes 1 … 10).</param>
    /// <param name="denoise">0 … 1.</param>
    public static float[] SdTurboSigmas(IModelSampling s, int steps, double denoise)
    {
        ArgumentNullException.ThrowIfNull(s);
        // ComfyUI would read σ(999) of a continuous sampling, exp(3996) under EDM's timestep: infinite, not a schedule.
        if (s is not DiscreteModelSampling)
            throw new ArgumentException("sd_turbo picks the timesteps 999, 899 … 99 of a discrete training schedule, and a continuous model sampling (ModelSamplingContinuousEDM/V) has none: choose another scheduler.");
        var start = 10 - (int)(10 * Math.Clamp(denoise, 0, 1));
        var count = Math.Clamp(Math.Min(steps, 10 - start), 0, 10);
        var sigmas = new float[count + 1];
        for (var i = 0; i < count; i++) sigmas[i] = s.Sigma(999 - 100 * (start + i));
        return sigmas;
    }

    /// <summary>k-diffusion's get_sigmas_polyexponential: log σ falls from max to min along (1 − t)^ρ, then 0 (float32).</summary>
    /// <param name="sigmaMin">The smallest sigma.</param>
    /// <param name="sigmaMax">The largest sigma.</param>
    /// <param name="steps">Steps (≥ 1).</param>
    /// <param name="rho">ρ (1: the exponential schedule).</param>
    public static float[] Polyexponential(double sigmaMin, double sigmaMax, int steps, double rho)
    {
        float logMin = (float)Math.Log(sigmaMin), span = (float)(Math.Log(sigmaMax) - Math.Log(sigmaMin));
        return TorchLinspace(1, 0, steps).Select(r => MathF.Exp(MathF.Pow(r, (float)rho) * span + logMin)).Append(0f).ToArray();
    }

    /// <summary>k-diffusion's get_sigmas_vp: the continuous VP schedule √(exp(β_d t²/2 + β_min t) − 1) for t from 1 to ε_s, then 0 (float32).</summary>
    /// <param name="steps">Steps (≥ 1).</param>
    /// <param name="betaD">β_d.</param>
    /// <param name="betaMin">β_min.</param>
    /// <param name="epsS">ε_s, the last t.</param>
    public static float[] Vp(int steps, double betaD, double betaMin, double epsS)
    {
        float d = (float)betaD, min = (float)betaMin;
        return TorchLinspace(1, (float)epsS, steps).Select(t => MathF.Sqrt(ExpM1(d * (t * t) / 2 + min * t))).Append(0f).ToArray();
    }

    /// <summary>
    /// k-diffusion's get_sigmas_laplace (Tiankai et al. 2024): σ = exp(μ − β · sign(½ − x) · log(1 − 2|½ − x| + 10⁻⁵)) for
    /// x from 0 to 1, clamped to [sigma_min, sigma_max]; no 0 is appended, so it ends at sigma_min (float32).
    /// </summary>
    /// <param name="sigmaMin">The smallest sigma.</param>
    /// <param name="sigmaMax">The largest sigma.</param>
    /// <param name="steps">How many sigmas (≥ 1).</param>
    /// <param name="mu">μ, the log σ at the middle.</param>
    /// <param name="beta">β, the spread.</param>
    public static float[] Laplace(double sigmaMin, double sigmaMax, int steps, double mu, double beta)
    {
        float m = (float)mu, b = (float)beta, low = (float)sigmaMin, high = (float)sigmaMax;
        return TorchLinspace(0, 1, steps).Select(x =>
        {
            var half = 0.5f - x;
            var lambda = m - b * MathF.Sign(half) * MathF.Log(1 - 2 * MathF.Abs(half) + 1e-5f);
            return MathF.Min(MathF.Max(MathF.Exp(lambda), low), high);
        }).ToArray();
    }

    // torch.special.expm1 in float32: exp(x) − 1 without the cancellation near 0.
    private static float ExpM1(float x) => (float)(Math.Abs(x) < 1e-5 ? x + x * (double)x / 2 : Math.Exp(x) - 1);

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
