using System.Globalization;
using FlowDiffusion.Diffusion.Schedulers;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// ComfyUI's continuous model samplings (<c>ModelSamplingContinuousEDM</c> and <c>ModelSamplingContinuousV</c>): no
/// training betas, only a sigma range, held as a table of 1000 sigmas evenly spaced in log σ between sigma_min and
/// sigma_max (float32, as torch.linspace and exp give it), and a closed-form timestep: ¼·ln σ for EDM models
/// (Karras et al. 2022's c_noise), 2/π·atan σ for v-diffusion models such as CosXL.
/// </summary>
public sealed class ContinuousModelSampling : IModelSampling
{
    /// <summary>How many sigmas the table holds, as ComfyUI's.</summary>
    public const int TableLength = 1000;

    /// <summary>The <see cref="SchedulerConfig.ModelSampling"/> value of the EDM timestep.</summary>
    public const string EdmName = "continuous_edm";

    /// <summary>The <see cref="SchedulerConfig.ModelSampling"/> value of the v-diffusion timestep.</summary>
    public const string VName = "continuous_v";

    private readonly float[] sigmas;
    private readonly bool vTimestep;

    private ContinuousModelSampling(double sigmaMin, double sigmaMax, bool vTimestep)
    {
        if (!(sigmaMin > 0) || !(sigmaMax > sigmaMin) || !double.IsFinite(sigmaMax))
            throw new ArgumentException($"a continuous model sampling needs 0 < sigma_min < sigma_max, got sigma_min {Format(sigmaMin)} and sigma_max {Format(sigmaMax)}: raise sigma_max above sigma_min, and sigma_min above 0.");
        sigmas = [.. SigmaSchedules.TorchLinspace((float)Math.Log(sigmaMin), (float)Math.Log(sigmaMax), TableLength).Select(MathF.Exp)];
        this.vTimestep = vTimestep;
    }

    /// <inheritdoc />
    public IReadOnlyList<float> Sigmas => sigmas;

    /// <inheritdoc />
    public float SigmaMin => sigmas[0];

    /// <inheritdoc />
    public float SigmaMax => sigmas[^1];

    /// <inheritdoc />
    /// <remarks>ComfyUI's continuous samplings: log-linear between the table's float32 ends, in double.</remarks>
    public double PercentToSigma(double percent)
    {
        if (percent <= 0) return 999999999.9;
        if (percent >= 1) return 0;
        var logMin = Math.Log(SigmaMin);
        return Math.Exp((Math.Log(SigmaMax) - logMin) * (1.0 - percent) + logMin);
    }

    /// <summary>Whether the timestep is 2/π·atan σ (ModelSamplingContinuousV) rather than ¼·ln σ.</summary>
    public bool IsV => vTimestep;

    /// <summary>ModelSamplingContinuousEDM's sampling: timestep ¼·ln σ.</summary>
    /// <param name="sigmaMin">The smallest sigma (above 0).</param>
    /// <param name="sigmaMax">The largest sigma (above sigma_min).</param>
    public static ContinuousModelSampling Edm(double sigmaMin, double sigmaMax) => new(sigmaMin, sigmaMax, vTimestep: false);

    /// <summary>ModelSamplingContinuousV's sampling: timestep 2/π·atan σ.</summary>
    /// <param name="sigmaMin">The smallest sigma (above 0).</param>
    /// <param name="sigmaMax">The largest sigma (above sigma_min).</param>
    public static ContinuousModelSampling V(double sigmaMin, double sigmaMax) => new(sigmaMin, sigmaMax, vTimestep: true);

    /// <summary>The continuous sampling <paramref name="config"/> names, or null for a discrete one.</summary>
    /// <param name="config">The model's scheduler configuration.</param>
    /// <exception cref="ArgumentException">An unknown model_sampling, or a missing or invalid sigma range.</exception>
    public static ContinuousModelSampling? For(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.ModelSampling is null or "discrete") return null;
        if (config.ModelSampling is not (EdmName or VName))
            throw new ArgumentException($"unknown model_sampling '{config.ModelSampling}' in the scheduler configuration; valid values: discrete, {EdmName}, {VName}.");
        if (config.SigmaMin is not { } min || config.SigmaMax is not { } max)
            throw new ArgumentException($"model_sampling '{config.ModelSampling}' needs sigma_min and sigma_max in the scheduler configuration.");
        return new ContinuousModelSampling(min, max, config.ModelSampling == VName);
    }

    /// <inheritdoc />
    public float TimestepOf(float sigma) => vTimestep ? MathF.Atan(sigma) / MathF.PI * 2 : 0.25f * MathF.Log(sigma);

    /// <inheritdoc />
    public float Sigma(float timestep) => vTimestep ? MathF.Tan(timestep * MathF.PI / 2) : MathF.Exp(timestep / 0.25f);

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
