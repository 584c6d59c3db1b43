using System.Collections.Concurrent;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// The training noise schedule shared by every scheduler: betas, alphas and alpha_bar (alphas_cumprod), held in
/// float32 exactly as diffusers holds them in torch tensors, plus the training sigmas √((1 − ᾱ)/ᾱ).
/// Instances are immutable and cached per schedule definition.
/// </summary>
public sealed class NoiseSchedule
{
    private static readonly ConcurrentDictionary<string, NoiseSchedule> Cache = new();

    private readonly float[] betas;
    private readonly float[] alphas;
    private readonly float[] alphasCumprod;
    private readonly float[] sigmas;
    private readonly float[] logSigmas;

    private NoiseSchedule(float[] betas, bool zeroTerminalSnr, bool clampTerminal)
    {
        if (zeroTerminalSnr) betas = RescaleToZeroTerminalSnr(betas);
        this.betas = betas;
        alphas = new float[betas.Length];
        alphasCumprod = new float[betas.Length];
        sigmas = new float[betas.Length];
        logSigmas = new float[betas.Length];

        // torch's CPU cumprod accumulates in double and rounds each prefix product to float32.
        double product = 1.0;
        for (var i = 0; i < betas.Length; i++)
        {
            alphas[i] = 1f - betas[i];
            product *= alphas[i];
            alphasCumprod[i] = (float)product;
            if (clampTerminal && i == betas.Length - 1 && zeroTerminalSnr) alphasCumprod[i] = MathF.Pow(2, -24);
            sigmas[i] = MathF.Sqrt((1f - alphasCumprod[i]) / alphasCumprod[i]);
            logSigmas[i] = MathF.Log(sigmas[i]);
        }
    }

    /// <summary>Number of training timesteps.</summary>
    public int TrainSteps => betas.Length;

    /// <summary>The betas, float32.</summary>
    public ReadOnlySpan<float> Betas => betas;

    /// <summary>alpha_t = 1 − beta_t, float32.</summary>
    public ReadOnlySpan<float> Alphas => alphas;

    /// <summary>alpha_bar_t, the cumulative product of the alphas, float32.</summary>
    public ReadOnlySpan<float> AlphasCumprod => alphasCumprod;

    /// <summary>The training sigmas √((1 − ᾱ)/ᾱ), float32, ascending in t.</summary>
    public ReadOnlySpan<float> Sigmas => sigmas;

    /// <summary>The natural logarithms of <see cref="Sigmas"/>, float32 (as NumPy computes them).</summary>
    internal float[] LogSigmas => logSigmas;

    /// <summary>The training sigmas as an array the interpolation helpers read.</summary>
    internal float[] SigmaArray => sigmas;

    /// <summary>alpha_bar at an integer timestep.</summary>
    /// <param name="timestep">A training timestep in [0, <see cref="TrainSteps"/>).</param>
    public float AlphaBar(int timestep) => alphasCumprod[timestep];

    /// <summary>Builds (or reuses) the schedule a configuration describes.</summary>
    /// <param name="config">The scheduler configuration.</param>
    /// <param name="defaultBetaStart">The class default for <c>beta_start</c>.</param>
    /// <param name="defaultBetaEnd">The class default for <c>beta_end</c>.</param>
    /// <param name="clampTerminal">
    /// With zero terminal SNR, whether alpha_bar at the last step is set to 2⁻²⁴ so its sigma stays finite (the
    /// sigma-based and DPM-Solver classes do this; DDIM and DDPM keep 0).
    /// </param>
    public static NoiseSchedule For(SchedulerConfig config, double defaultBetaStart = 0.0001, double defaultBetaEnd = 0.02, bool clampTerminal = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        var trainSteps = config.NumTrainTimesteps ?? 1000;
        var zeroSnr = config.RescaleBetasZeroSnr ?? false;
        if (config.TrainedBetas is { Length: > 0 } trained)
        {
            return new NoiseSchedule(trained.Select(b => (float)b).ToArray(), zeroSnr, clampTerminal);
        }

        var start = config.BetaStart ?? defaultBetaStart;
        var end = config.BetaEnd ?? defaultBetaEnd;
        var kind = config.BetaSchedule ?? "linear";
        var key = FormattableString.Invariant($"{kind}|{trainSteps}|{start:R}|{end:R}|{zeroSnr}|{clampTerminal && zeroSnr}");
        return Cache.GetOrAdd(key, _ => new NoiseSchedule(MakeBetas(kind, trainSteps, start, end), zeroSnr, clampTerminal));
    }

    private static float[] MakeBetas(string kind, int trainSteps, double start, double end)
    {
        if (trainSteps < 2) throw new ArgumentException($"num_train_timesteps must be at least 2, got {trainSteps}.");
        switch (kind)
        {
            case "linear":
                return TorchLinspace((float)start, (float)end, trainSteps);
            case "scaled_linear":
                var roots = TorchLinspace((float)Math.Sqrt(start), (float)Math.Sqrt(end), trainSteps);
                for (var i = 0; i < roots.Length; i++) roots[i] *= roots[i];
                return roots;
            case "squaredcos_cap_v2":
                return CosineBetas(trainSteps);
            default:
                throw new ArgumentException(
                    $"Unknown beta_schedule '{kind}'. Valid values: linear, scaled_linear, squaredcos_cap_v2.");
        }
    }

    /// <summary>torch.linspace on float32: a float step, filled from both ends towards the middle.</summary>
    internal static float[] TorchLinspace(float start, float end, int count)
    {
        var values = new float[count];
        var step = (end - start) / (count - 1);
        var half = count / 2;
        for (var i = 0; i < count; i++)
        {
            values[i] = i < half ? start + step * i : end - step * (count - i - 1);
        }

        return values;
    }

    // Lin et al. (2023), algorithm 1: shift √ᾱ so the last is 0, rescale so the first is kept, recover the betas (float32).
    private static float[] RescaleToZeroTerminalSnr(float[] betas)
    {
        var root = new float[betas.Length];
        double product = 1.0;
        for (var i = 0; i < betas.Length; i++)
        {
            product *= 1f - betas[i];
            root[i] = MathF.Sqrt((float)product);
        }

        float first = root[0], last = root[^1];
        var scale = first / (first - last);
        var rescaled = new float[betas.Length];
        var previous = 0f;
        for (var i = 0; i < betas.Length; i++)
        {
            var shifted = (root[i] - last) * scale;
            var alphaBar = shifted * shifted;
            rescaled[i] = 1f - (i == 0 ? alphaBar : alphaBar / previous);
            previous = alphaBar;
        }

        return rescaled;
    }

    // Nichol & Dhariwal (2021) cosine alpha_bar, betas capped at 0.999, computed in double then stored as float32.
    private static float[] CosineBetas(int trainSteps)
    {
        static double AlphaBar(double t) => Math.Pow(Math.Cos((t + 0.008) / 1.008 * Math.PI / 2), 2);
        var betas = new float[trainSteps];
        for (var i = 0; i < trainSteps; i++)
        {
            var t1 = (double)i / trainSteps;
            var t2 = (double)(i + 1) / trainSteps;
            betas[i] = (float)Math.Min(1 - AlphaBar(t2) / AlphaBar(t1), 0.999);
        }

        return betas;
    }
}
