using System.Numerics.Tensors;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// The Karras-style discrete samplers (LMS, Euler, Euler ancestral, Heun, KDPM2): the state is x = x₀ + σ·ε,
/// the model sees x / √(σ² + 1), and the schedule is the training sigmas interpolated at the inference timesteps.
/// </summary>
public abstract class SigmaScheduler : DiffusersScheduler
{
    /// <summary>Creates the scheduler.</summary>
    /// <param name="name">The user-facing short name.</param>
    /// <param name="config">The configuration.</param>
    /// <param name="defaultBetaStart">This class's default <c>beta_start</c>.</param>
    /// <param name="defaultBetaEnd">This class's default <c>beta_end</c>.</param>
    /// <param name="zeroSnr">How this class treats <c>rescale_betas_zero_snr</c>.</param>
    protected SigmaScheduler(string name, SchedulerConfig config, double defaultBetaStart = 0.0001, double defaultBetaEnd = 0.02,
        ZeroSnrSupport zeroSnr = ZeroSnrSupport.None)
        : base(name, config, defaultBetaStart, defaultBetaEnd, zeroSnr)
    {
        Spacing = TimestepSpacing.Validate(config.TimestepSpacing ?? "linspace");
    }

    /// <summary>Whether the sigmas follow the Karras rho-spacing.</summary>
    public bool UseKarrasSigmas => Config.UseKarrasSigmas ?? false;

    /// <summary>The timestep spacing in effect.</summary>
    public string Spacing { get; }

    /// <summary>The largest sigma for "linspace"/"trailing" spacing, √(σ_max² + 1) otherwise (diffusers' rule).</summary>
    public override float InitNoiseSigma
    {
        get
        {
            if (SigmaValues is null) return 1f;
            var max = TensorPrimitives.Max<float>(SigmaValues);
            return Spacing is "linspace" or "trailing" ? max : MathF.Sqrt(max * max + 1f);
        }
    }

    /// <summary>Divides by √(σ² + 1) for the sigma of the current step.</summary>
    public override void ScaleModelInput(ReadOnlySpan<float> sample, float timestep, Span<float> destination)
    {
        var sigma = ModelInputSigma(EnsureStepIndex(timestep));
        TensorPrimitives.Divide(sample, MathF.Sqrt(sigma * sigma + 1f), destination);
    }

    /// <summary>x₀ + σ·noise, with σ of the entry <paramref name="timestep"/>.</summary>
    public override void AddNoise(ReadOnlySpan<float> original, ReadOnlySpan<float> noise, float timestep, Span<float> destination)
    {
        var sigma = SigmaValues![IndexForTimestep(timestep)];
        TensorPrimitives.MultiplyAdd(noise, sigma, original, destination);
    }

    /// <summary>The sigma the model input is scaled with at a step index.</summary>
    /// <param name="stepIndex">The step index.</param>
    protected virtual float ModelInputSigma(int stepIndex) => SigmaValues![stepIndex];

    /// <summary>
    /// The N inference sigmas (double, before the final sigma is appended) and their timesteps: the training sigmas
    /// interpolated at the spaced timesteps, or the Karras sigmas and their fractional timesteps.
    /// </summary>
    /// <param name="steps">The number of inference steps.</param>
    /// <param name="roundKarrasTimesteps">Whether Karras timesteps are rounded to integers (KDPM2 does).</param>
    /// <param name="custom">Explicit timesteps replacing the spaced ones (diffusers' <c>timesteps=</c>).</param>
    protected (double[] Sigmas, float[] Timesteps) InterpolatedSchedule(int steps, bool roundKarrasTimesteps = false, IReadOnlyList<float>? custom = null)
    {
        float[] timesteps;
        if (custom is null)
        {
            ValidateSteps(steps);
            timesteps = TimestepSpacing.Continuous(TrainSteps, steps, Spacing, Config.StepsOffset ?? 0);
        }
        else
        {
            timesteps = ValidateCustomTimesteps(custom);
        }

        var sigmas = SigmaSpacing.Interpolate(timesteps.Select(t => (double)t).ToArray(), NoiseSchedule.Sigmas);
        if (!UseKarrasSigmas) return (sigmas, timesteps);

        sigmas = SigmaSpacing.Karras(sigmas[^1], sigmas[0], steps);
        var karrasTimesteps = sigmas.Select(s =>
        {
            var t = SigmaSpacing.ToTimestep(s, NoiseSchedule.LogSigmas);
            return (float)(roundKarrasTimesteps ? Math.Round(t) : t);
        }).ToArray();
        return (sigmas, karrasTimesteps);
    }

    /// <summary>Checks an explicit timestep list: non-empty, strictly descending, inside the training range.</summary>
    /// <param name="timesteps">The list a caller passed.</param>
    protected float[] ValidateCustomTimesteps(IReadOnlyList<float> timesteps)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        if (timesteps.Count == 0) throw new ArgumentException($"{Name}: the custom timestep list is empty.", nameof(timesteps));
        for (var i = 1; i < timesteps.Count; i++)
        {
            if (timesteps[i] >= timesteps[i - 1]) throw new ArgumentException($"{Name}: custom timesteps must be strictly descending.", nameof(timesteps));
        }

        if (timesteps[0] >= TrainSteps || timesteps[^1] < 0)
        {
            throw new ArgumentException($"{Name}: custom timesteps must lie in [0, {TrainSteps}).", nameof(timesteps));
        }

        return [.. timesteps];
    }

    /// <summary>The predicted clean sample x₀ for the configured prediction type at noise level <paramref name="sigma"/>.</summary>
    /// <param name="modelOutput">The model output.</param>
    /// <param name="sample">The state x.</param>
    /// <param name="sigma">The sigma the model output refers to.</param>
    /// <param name="destination">Receives x₀; must not overlap the inputs.</param>
    protected void PredictOriginal(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float sigma, Span<float> destination)
    {
        switch (Prediction)
        {
            case PredictionType.Epsilon:
                TensorPrimitives.MultiplyAdd(modelOutput, -sigma, sample, destination);
                break;
            case PredictionType.VPrediction:
                // x₀ = v · (−σ/√(σ²+1)) + x / (σ²+1)
                var variance = sigma * sigma + 1f;
                var cOut = -sigma / MathF.Sqrt(variance);
                for (var i = 0; i < destination.Length; i++) destination[i] = modelOutput[i] * cOut + sample[i] / variance;
                break;
            default:
                modelOutput.CopyTo(destination);
                break;
        }
    }

    /// <summary>The Karras ODE derivative d = (x − x₀)/σ, in place over <paramref name="x0"/>.</summary>
    /// <param name="sample">The state x.</param>
    /// <param name="x0">The predicted clean sample; receives the derivative.</param>
    /// <param name="sigma">The sigma.</param>
    protected static void Derivative(ReadOnlySpan<float> sample, Span<float> x0, float sigma)
    {
        TensorPrimitives.Subtract(sample, x0, x0);
        TensorPrimitives.Divide(x0, sigma, x0);
    }

    /// <summary>Appends <paramref name="last"/> to the double sigmas and rounds them to float32.</summary>
    /// <param name="sigmas">The inference sigmas.</param>
    /// <param name="last">The final sigma.</param>
    protected static float[] WithFinalSigma(double[] sigmas, double last) =>
        sigmas.Select(s => (float)s).Append((float)last).ToArray();
}
