using System.Numerics.Tensors;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// The exponential-integrator solvers of the diffusion ODE in log-SNR time λ = ln(α/σ) (DPM-Solver, DPM-Solver++,
/// UniPC, DEIS): integer timesteps from N + 1 spaced points, sigmas interpolated at them, the state
/// x = α·x₀ + σ·ε with α = 1/√(s² + 1), σ = s·α for the schedule sigma s, and a history of converted model outputs.
/// </summary>
public abstract class ExponentialIntegratorScheduler : DiffusersScheduler
{
    private readonly List<float[]> spare = [];

    /// <summary>Creates the scheduler.</summary>
    /// <param name="name">The user-facing short name.</param>
    /// <param name="config">The configuration.</param>
    /// <param name="zeroSnr">How this class treats <c>rescale_betas_zero_snr</c>.</param>
    protected ExponentialIntegratorScheduler(string name, SchedulerConfig config, ZeroSnrSupport zeroSnr = ZeroSnrSupport.None)
        : base(name, config, zeroSnr: zeroSnr)
    {
        SolverOrder = config.SolverOrder ?? 2;
        if (SolverOrder is < 1 or > 3) throw new ArgumentException($"{name}: solver_order must be 1, 2 or 3, got {SolverOrder}.");
        Spacing = TimestepSpacing.Validate(config.TimestepSpacing ?? "linspace");
        if (config.FinalSigmasType is not (null or "zero" or "sigma_min"))
        {
            throw new ArgumentException($"{name}: unknown final_sigmas_type '{config.FinalSigmasType}'. Valid values: zero, sigma_min.");
        }
    }

    /// <summary>The multistep order.</summary>
    public int SolverOrder { get; }

    /// <summary>The timestep spacing in effect.</summary>
    public string Spacing { get; }

    /// <summary>Whether the sigmas follow the Karras rho-spacing.</summary>
    public bool UseKarrasSigmas => Config.UseKarrasSigmas ?? false;

    /// <summary>The converted model outputs, oldest first (<see cref="SolverOrder"/> slots, null until filled).</summary>
    protected float[]?[] ModelOutputs { get; private set; } = [];

    /// <summary>How many steps have run, capped at <see cref="SolverOrder"/> (the multistep warm-up counter).</summary>
    protected int LowerOrderSteps { get; set; }

    /// <summary>x₀ + noise at the level of <paramref name="timestep"/>: α·x₀ + σ·noise.</summary>
    public override void AddNoise(ReadOnlySpan<float> original, ReadOnlySpan<float> noise, float timestep, Span<float> destination)
    {
        var (alpha, sigma) = AlphaSigma(SigmaValues![IndexForTimestep(timestep)]);
        for (var i = 0; i < destination.Length; i++) destination[i] = alpha * original[i] + sigma * noise[i];
    }

    /// <summary>α = 1/√(s² + 1) and σ = s·α for a schedule sigma s (float32, as diffusers).</summary>
    /// <param name="sigma">The schedule sigma.</param>
    protected static (float Alpha, float Sigma) AlphaSigma(float sigma)
    {
        var alpha = 1f / MathF.Sqrt(sigma * sigma + 1f);
        return (alpha, sigma * alpha);
    }

    /// <summary>λ = ln α − ln σ at the schedule index <paramref name="index"/>.</summary>
    /// <param name="index">An index into the sigmas.</param>
    protected float Lambda(int index)
    {
        var (alpha, sigma) = AlphaSigma(SigmaValues![index]);
        return MathF.Log(alpha) - MathF.Log(sigma);
    }

    /// <summary>
    /// Builds timesteps and sigmas: spaced integer timesteps with interpolated sigmas and the final sigma, or Karras
    /// sigmas over the whole training range with their rounded timesteps.
    /// </summary>
    /// <param name="steps">The number of inference steps.</param>
    /// <param name="lastTimestep">The end of the usable training range (num_train_timesteps unless clipped).</param>
    /// <param name="finalSigma">The sigma after the last step.</param>
    /// <param name="karrasRepeatsLast">Whether Karras schedules repeat their last sigma instead of using <paramref name="finalSigma"/>.</param>
    /// <param name="custom">Explicit integer timesteps replacing the spaced ones (diffusers' <c>timesteps=</c>).</param>
    /// <param name="spacing">A spacing that overrides the configured one.</param>
    protected void BuildSchedule(int steps, int lastTimestep, float finalSigma, bool karrasRepeatsLast = true, IReadOnlyList<int>? custom = null, string? spacing = null)
    {
        if (custom is null) ValidateSteps(steps);
        var training = NoiseSchedule.Sigmas;
        double[] sigmas;
        float[] timesteps;
        float last = finalSigma;
        if (UseKarrasSigmas)
        {
            sigmas = SigmaSpacing.Karras(training[0], training[^1], steps);
            timesteps = sigmas.Select(s => (float)Math.Round(SigmaSpacing.ToTimestep(s, NoiseSchedule.LogSigmas))).ToArray();
            if (karrasRepeatsLast) last = (float)sigmas[^1];
        }
        else
        {
            var ints = custom?.ToArray() ?? TimestepSpacing.Solver(TrainSteps, lastTimestep, steps, spacing ?? Spacing, Config.StepsOffset ?? 0);
            timesteps = ints.Select(t => (float)t).ToArray();
            sigmas = SigmaSpacing.Interpolate(ints.Select(t => (double)t).ToArray(), training);
        }

        SetSchedule(steps, timesteps, sigmas.Select(s => (float)s).Append(last).ToArray());
        // Keep the previous run's history buffers for reuse: a new schedule should not cost new tensors.
        spare.AddRange(ModelOutputs.OfType<float[]>());
        ModelOutputs = new float[]?[SolverOrder];
        LowerOrderSteps = 0;
    }

    /// <summary>The final sigma for a final_sigmas_type: the smallest training sigma or zero.</summary>
    /// <param name="finalSigmasType"><c>sigma_min</c> or <c>zero</c>.</param>
    protected float FinalSigma(string finalSigmasType) => finalSigmasType == "sigma_min" ? NoiseSchedule.Sigmas[0] : 0f;

    /// <summary>
    /// Converts the model output at the current step to the solver's working quantity (x₀ or ε, applying dynamic
    /// thresholding to x₀ when configured) and pushes it into the history, reusing the buffer that falls out.
    /// </summary>
    /// <param name="modelOutput">The raw model output.</param>
    /// <param name="sample">The state.</param>
    /// <param name="stepIndex">The current step index.</param>
    /// <param name="target">What the solver integrates.</param>
    protected float[] PushConvertedOutput(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, int stepIndex, SolverTarget target)
    {
        var outputs = ModelOutputs;
        var buffer = outputs[0];
        if (buffer is null && spare.Count > 0)
        {
            buffer = spare[^1];
            spare.RemoveAt(spare.Count - 1);
        }

        if (buffer is null || buffer.Length != sample.Length) buffer = new float[sample.Length];
        Convert(modelOutput, sample, SigmaValues![stepIndex], target, buffer);
        for (var i = 0; i < outputs.Length - 1; i++) outputs[i] = outputs[i + 1];
        outputs[^1] = buffer;
        return buffer;
    }

    /// <summary>The conversion of <see cref="PushConvertedOutput"/> without touching the history.</summary>
    /// <param name="modelOutput">The raw model output.</param>
    /// <param name="sample">The state.</param>
    /// <param name="scheduleSigma">The schedule sigma of the current step.</param>
    /// <param name="target">What the solver integrates.</param>
    /// <param name="destination">Receives the converted output.</param>
    protected void Convert(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float scheduleSigma, SolverTarget target, Span<float> destination)
    {
        var (alpha, sigma) = AlphaSigma(scheduleSigma);
        var threshold = Config.Thresholding == true;
        if (target == SolverTarget.Noise && !threshold)
        {
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = Prediction switch
                {
                    PredictionType.Epsilon => modelOutput[i],
                    PredictionType.Sample => (sample[i] - alpha * modelOutput[i]) / sigma,
                    _ => alpha * modelOutput[i] + sigma * sample[i],
                };
            }

            return;
        }

        switch (Prediction)
        {
            case PredictionType.Epsilon:
                // x₀ = (x − σ·ε)/α
                TensorPrimitives.MultiplyAdd(modelOutput, -sigma, sample, destination);
                TensorPrimitives.Divide(destination, alpha, destination);
                break;
            case PredictionType.Sample:
                modelOutput.CopyTo(destination);
                break;
            default:
                // x₀ = α·x − σ·v
                TensorPrimitives.Multiply(sample, alpha, destination);
                TensorPrimitives.MultiplyAdd(modelOutput, -sigma, destination, destination);
                break;
        }

        if (threshold)
        {
            DynamicThreshold.Apply(destination, ThresholdingBatch, Config.DynamicThresholdingRatio ?? 0.995, Config.SampleMaxValue ?? 1.0);
        }

        if (target != SolverTarget.Data)
        {
            for (var i = 0; i < destination.Length; i++) destination[i] = (sample[i] - alpha * destination[i]) / sigma;
        }
    }
}
