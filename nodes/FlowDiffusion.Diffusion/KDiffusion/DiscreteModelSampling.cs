using FlowDiffusion.Diffusion.Schedulers;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// ComfyUI's discrete noise schedule of an epsilon/v model (its <c>ModelSamplingDiscrete</c>): betas, alpha_bar and the
/// training sigmas √((1 − ᾱ)/ᾱ) computed in float64 and then held in float32, with sigma ↔ timestep conversions. It
/// differs from diffusers' tables (float32 betas) in the last bits, which is why it is separate from
/// <see cref="NoiseSchedule"/>.
/// </summary>
public sealed class DiscreteModelSampling : IModelSampling
{
    private readonly float[] sigmas;
    private readonly float[] logSigmas;

    private DiscreteModelSampling(float[] sigmas)
    {
        this.sigmas = sigmas;
        logSigmas = [.. sigmas.Select(s => MathF.Log(s))];
    }

    private DiscreteModelSampling(double[] betas)
    {
        sigmas = new float[betas.Length];
        logSigmas = new float[betas.Length];
        double product = 1;
        for (var i = 0; i < betas.Length; i++)
        {
            product *= 1 - betas[i];
            var sigma = Math.Sqrt((1 - product) / product);
            sigmas[i] = (float)sigma;
            logSigmas[i] = (float)Math.Log(sigma);
        }
    }

    /// <summary>The training sigmas in float32, ascending in t.</summary>
    public IReadOnlyList<float> Sigmas => sigmas;

    /// <summary>The smallest training sigma (t = 0).</summary>
    public float SigmaMin => sigmas[0];

    /// <summary>The largest training sigma (t = T − 1).</summary>
    public float SigmaMax => sigmas[^1];

    /// <summary>
    /// The schedule a diffusers scheduler configuration describes, in ComfyUI's terms: diffusers' <c>scaled_linear</c>
    /// is ComfyUI's <c>linear</c> (linear in √β), diffusers' <c>linear</c> its <c>sqrt_linear</c>, <c>squaredcos_cap_v2</c>
    /// its <c>cosine</c>.
    /// </summary>
    /// <param name="config">The model's scheduler configuration.</param>
    public static DiscreteModelSampling For(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var steps = config.NumTrainTimesteps ?? 1000;
        if (steps < 2) throw new ArgumentException($"num_train_timesteps must be at least 2, got {steps}.");
        var sampling = Betas(config, steps);
        return config.RescaleBetasZeroSnr == true ? sampling.WithZeroTerminalSnr() : sampling;
    }

    private static DiscreteModelSampling Betas(SchedulerConfig config, int steps)
    {
        if (config.TrainedBetas is { Length: > 0 } trained) return new DiscreteModelSampling([.. trained]);
        var start = config.BetaStart ?? 0.00085;
        var end = config.BetaEnd ?? 0.012;
        return (config.BetaSchedule ?? "scaled_linear") switch
        {
            "scaled_linear" => new DiscreteModelSampling(Linspace(Math.Sqrt(start), Math.Sqrt(end), steps).Select(b => b * b).ToArray()),
            "linear" => new DiscreteModelSampling(Linspace(start, end, steps)),
            "squaredcos_cap_v2" => new DiscreteModelSampling(CosineBetas(steps)),
            var other => throw new ArgumentException($"Unknown beta_schedule '{other}'. Valid values: linear, scaled_linear, squaredcos_cap_v2."),
        };
    }

    /// <summary>
    /// The schedule rescaled to zero terminal SNR as ComfyUI's ModelSamplingDiscrete does it (<c>zsnr</c>; diffusers'
    /// <c>rescale_betas_zero_snr</c>), in float32 on the float32 sigmas: √ᾱ shifted so that its last value is 0 and scaled
    /// so that its first is unchanged, the last ᾱ then set to 4.8973451890853435e-08 so that the largest sigma (≈ 4518.8)
    /// stays finite.
    /// </summary>
    public DiscreteModelSampling WithZeroTerminalSnr()
    {
        var root = new float[sigmas.Length];
        for (var i = 0; i < root.Length; i++) root[i] = MathF.Sqrt(1f / ((sigmas[i] * sigmas[i]) + 1f));
        float first = root[0], last = root[^1];
        var factor = first / (first - last);
        var rescaled = new float[root.Length];
        for (var i = 0; i < root.Length; i++)
        {
            var shifted = (root[i] - last) * factor;
            var alphaBar = i == root.Length - 1 ? 4.8973451890853435e-08f : shifted * shifted;
            rescaled[i] = MathF.Sqrt((1f - alphaBar) / alphaBar);
        }

        return new DiscreteModelSampling(rescaled);
    }

    /// <summary>The nearest training timestep to <paramref name="sigma"/> in log-sigma (ComfyUI's <c>timestep(sigma)</c>).</summary>
    /// <param name="sigma">A positive noise level.</param>
    public int Timestep(float sigma)
    {
        var log = MathF.Log(sigma);
        var best = 0;
        var bestDistance = float.PositiveInfinity;
        for (var i = 0; i < logSigmas.Length; i++)
        {
            var distance = MathF.Abs(log - logSigmas[i]);
            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = i;
            }
        }

        return best;
    }

    /// <inheritdoc />
    float IModelSampling.TimestepOf(float sigma) => Timestep(sigma);

    /// <summary>The sigma at a fractional timestep, interpolated linearly in log-sigma (ComfyUI's <c>sigma(timestep)</c>), float32.</summary>
    /// <param name="timestep">A timestep; clamped to [0, T − 1].</param>
    public float Sigma(float timestep)
    {
        var t = Math.Clamp(timestep, 0f, logSigmas.Length - 1);
        var low = (int)MathF.Floor(t);
        var high = (int)MathF.Ceiling(t);
        var w = t - MathF.Truncate(t);
        return MathF.Exp((1 - w) * logSigmas[low] + w * logSigmas[high]);
    }

    /// <summary>
    /// The sigma a fraction of the schedule starts at (ComfyUI's <c>percent_to_sigma</c>): the float32 sigma at timestep
    /// (1 − p)·999; at or below 0 a sigma above any (999999999.9), at or above 1 zero.
    /// </summary>
    /// <param name="percent">The fraction of the schedule, 0 the start and 1 the end.</param>
    public double PercentToSigma(double percent) =>
        percent <= 0 ? 999999999.9 : percent >= 1 ? 0 : Sigma((float)((1.0 - percent) * 999.0));

    private static double[] Linspace(double start, double end, int count)
    {
        // torch.linspace in float64: a step, filled from both ends towards the middle.
        var values = new double[count];
        var step = (end - start) / (count - 1);
        for (var i = 0; i < count; i++) values[i] = i < count / 2 ? start + step * i : end - step * (count - i - 1);
        return values;
    }

    private static double[] CosineBetas(int steps)
    {
        const double s = 8e-3;
        var alphas = Enumerable.Range(0, steps + 1).Select(i => Math.Pow(Math.Cos(((double)i / steps + s) / (1 + s) * Math.PI / 2), 2)).ToArray();
        return Enumerable.Range(0, steps).Select(i => Math.Clamp(1 - alphas[i + 1] / alphas[0] / (alphas[i] / alphas[0]), 0, 0.999)).ToArray();
    }
}
