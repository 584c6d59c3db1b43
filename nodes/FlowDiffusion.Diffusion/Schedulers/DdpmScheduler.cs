using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Ancestral sampling of denoising diffusion probabilistic models (Ho et al. 2020, eq. 6–7); diffusers
/// <c>DDPMScheduler</c>. Every step with t &gt; 0 draws fresh noise from the loop's noise source.
/// </summary>
public sealed class DdpmScheduler : AlphaBarScheduler
{
    private static readonly string[] VarianceTypes = ["fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log"];
    private float[]? x0;
    private float[]? fresh;
    private bool customTimesteps;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' DDPM defaults (variance fixed_small, clip_sample true).</param>
    public DdpmScheduler(SchedulerConfig config) : base("ddpm", config, ZeroSnrSupport.Exact)
    {
        VarianceType = config.VarianceType ?? "fixed_small";
        if (!VarianceTypes.Contains(VarianceType))
        {
            throw new ArgumentException($"ddpm: variance_type '{VarianceType}' is not supported. Valid values: {string.Join(", ", VarianceTypes)}.");
        }
    }

    /// <summary>The variance rule of the reverse step.</summary>
    public string VarianceType { get; }

    /// <inheritdoc />
    public override void SetTimesteps(int steps)
    {
        customTimesteps = false;
        SetSchedule(steps, DiscreteTimesteps(steps).Select(t => (float)t).ToArray(), null);
    }

    /// <summary>Uses an explicit, strictly descending list of training timesteps (diffusers' custom timesteps).</summary>
    /// <param name="timesteps">The timesteps; the first must be below num_train_timesteps.</param>
    public void SetTimesteps(IReadOnlyList<int> timesteps)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        if (timesteps.Count == 0) throw new ArgumentException("ddpm: the custom timestep list is empty.", nameof(timesteps));
        for (var i = 1; i < timesteps.Count; i++)
        {
            if (timesteps[i] >= timesteps[i - 1])
            {
                throw new ArgumentException("ddpm: custom timesteps must be in strictly descending order.", nameof(timesteps));
            }
        }

        if (timesteps[0] >= TrainSteps || timesteps[^1] < 0)
        {
            throw new ArgumentException($"ddpm: custom timesteps must lie in [0, {TrainSteps}).", nameof(timesteps));
        }

        customTimesteps = true;
        SetSchedule(timesteps.Count, timesteps.Select(t => (float)t).ToArray(), null);
    }

    /// <summary>diffusers' combined form: exactly one of a step count or an explicit timestep list.</summary>
    /// <param name="steps">The number of inference steps, or null.</param>
    /// <param name="timesteps">The explicit timesteps, or null.</param>
    public void SetTimesteps(int? steps, IReadOnlyList<int>? timesteps)
    {
        if (steps is not null && timesteps is not null)
        {
            throw new ArgumentException("ddpm: pass either a number of inference steps or custom timesteps, not both.");
        }

        if (timesteps is not null) SetTimesteps(timesteps);
        else SetTimesteps(steps ?? throw new ArgumentException("ddpm: pass a number of inference steps or custom timesteps."));
    }

    /// <summary>The timestep after <paramref name="timestep"/>: the next list entry for custom timesteps (−1 after the last), else t − T/N.</summary>
    /// <param name="timestep">A timestep of the schedule.</param>
    public int PreviousTimestep(int timestep)
    {
        if (customTimesteps)
        {
            var index = Array.IndexOf(TimestepValues, (float)timestep);
            return index == TimestepValues.Length - 1 ? -1 : (int)TimestepValues[index + 1];
        }

        var steps = InferenceSteps > 0 ? InferenceSteps : TrainSteps;
        return timestep - TrainSteps / steps;
    }

    /// <summary>The reverse-step variance at <paramref name="timestep"/> for the configured variance type.</summary>
    /// <param name="timestep">A training timestep.</param>
    public float Variance(int timestep)
    {
        var prev = PreviousTimestep(timestep);
        var alphaBar = NoiseSchedule.AlphaBar(timestep);
        var alphaBarPrev = prev >= 0 ? NoiseSchedule.AlphaBar(prev) : 1f;
        var beta = 1f - alphaBar / alphaBarPrev;

        // β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) · β_t, eq. 7; clamped so the log variants stay finite.
        var variance = Math.Max((1f - alphaBarPrev) / (1f - alphaBar) * beta, 1e-20f);
        return VarianceType switch
        {
            "fixed_small_log" => MathF.Exp(0.5f * MathF.Log(variance)),
            "fixed_large" => beta,
            "fixed_large_log" => MathF.Log(beta),
            _ => variance,
        };
    }

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        if (InferenceSteps == 0) throw new InvalidOperationException("ddpm: call SetTimesteps before stepping.");
        var t = (int)timestep;
        var prev = PreviousTimestep(t);
        var alphaBar = NoiseSchedule.AlphaBar(t);
        var alphaBarPrev = prev >= 0 ? NoiseSchedule.AlphaBar(prev) : 1f;
        float betaBar = 1f - alphaBar, betaBarPrev = 1f - alphaBarPrev;
        var currentAlpha = alphaBar / alphaBarPrev;
        var currentBeta = 1f - currentAlpha;

        var x = Scratch(ref x0, sample.Length);
        Predict(modelOutput, sample, alphaBar, x, Span<float>.Empty);

        // The posterior mean μ̃_t of eq. 7.
        var x0Coeff = MathF.Sqrt(alphaBarPrev) * currentBeta / betaBar;
        var sampleCoeff = MathF.Sqrt(currentAlpha) * betaBarPrev / betaBar;
        for (var i = 0; i < x.Length; i++) previousSample[i] = x0Coeff * x[i] + sampleCoeff * sample[i];

        if (t > 0)
        {
            if (noise is null) throw new ArgumentNullException(nameof(noise), "ddpm is stochastic: pass the loop's noise source.");
            var z = Scratch(ref fresh, sample.Length);
            noise.FillStandardNormal(z);
            var scale = VarianceType == "fixed_small_log" ? Variance(t) : MathF.Sqrt(Variance(t));
            for (var i = 0; i < z.Length; i++) previousSample[i] += scale * z[i];
        }
    }
}
