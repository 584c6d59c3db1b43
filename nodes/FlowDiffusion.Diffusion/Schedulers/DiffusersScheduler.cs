using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// The common part of every ported diffusers scheduler: its configuration, the shared alpha_bar table, the
/// schedule lists and the step index that diffusers finds from the first timestep a loop hands in (so a loop may
/// start mid-schedule, as img2img does).
/// </summary>
public abstract class DiffusersScheduler : IScheduler
{
    private float[] timesteps = [];

    /// <summary>Creates the scheduler over the noise schedule its configuration describes.</summary>
    /// <param name="name">The user-facing short name.</param>
    /// <param name="config">The configuration; absent keys take this class's diffusers defaults.</param>
    /// <param name="defaultBetaStart">This class's default <c>beta_start</c>.</param>
    /// <param name="defaultBetaEnd">This class's default <c>beta_end</c>.</param>
    /// <param name="zeroSnr">How this class treats <c>rescale_betas_zero_snr</c>.</param>
    protected DiffusersScheduler(string name, SchedulerConfig config, double defaultBetaStart = 0.0001, double defaultBetaEnd = 0.02,
        ZeroSnrSupport zeroSnr = ZeroSnrSupport.None)
    {
        ArgumentNullException.ThrowIfNull(config);
        Name = name;
        Config = config;
        if (config.RescaleBetasZeroSnr == true && zeroSnr == ZeroSnrSupport.None)
        {
            throw new ArgumentException($"{name}: rescale_betas_zero_snr is not available for this scheduler in diffusers; use ddim, ddpm, euler, euler_a, dpmpp_2m or unipc.");
        }

        NoiseSchedule = NoiseSchedule.For(config, defaultBetaStart, defaultBetaEnd, zeroSnr == ZeroSnrSupport.ClampTerminal);
        Prediction = config.PredictionType switch
        {
            null or "epsilon" => PredictionType.Epsilon,
            "v_prediction" => PredictionType.VPrediction,
            "sample" => PredictionType.Sample,
            var other => throw new ArgumentException(
                $"Unknown prediction_type '{other}' for {name}. Valid values: epsilon, v_prediction, sample."),
        };
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The configuration the scheduler was built from.</summary>
    public SchedulerConfig Config { get; }

    /// <summary>The training noise schedule (betas, alpha_bar, training sigmas).</summary>
    public NoiseSchedule NoiseSchedule { get; }

    /// <summary>What the model predicts.</summary>
    public PredictionType Prediction { get; }

    /// <summary>The batch size a sample spans; only dynamic thresholding (per-item quantiles) reads it.</summary>
    public int ThresholdingBatch { get; set; } = 1;

    /// <inheritdoc />
    public virtual int Order => 1;

    /// <inheritdoc />
    public IReadOnlyList<float> Timesteps => timesteps;

    /// <inheritdoc />
    public IReadOnlyList<float>? Sigmas => SigmaValues;

    /// <inheritdoc />
    public virtual float InitNoiseSigma => 1f;

    /// <summary>The number of inference steps of the current schedule.</summary>
    public int InferenceSteps { get; private set; }

    /// <summary>The number of training timesteps.</summary>
    protected int TrainSteps => NoiseSchedule.TrainSteps;

    /// <summary>The timesteps as an array, for the derived classes.</summary>
    protected float[] TimestepValues => timesteps;

    /// <summary>The sigmas as diffusers holds them, or null.</summary>
    protected float[]? SigmaValues { get; set; }

    /// <summary>The position in <see cref="Timesteps"/> of the next step, once the first step located it.</summary>
    protected int? StepIndex { get; set; }

    /// <inheritdoc />
    public abstract void SetTimesteps(int steps);

    /// <inheritdoc />
    public virtual void ScaleModelInput(ReadOnlySpan<float> sample, float timestep, Span<float> destination)
    {
        if (!sample.Overlaps(destination)) sample.CopyTo(destination);
    }

    /// <inheritdoc />
    public abstract void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise);

    /// <inheritdoc />
    public abstract void AddNoise(ReadOnlySpan<float> original, ReadOnlySpan<float> noise, float timestep, Span<float> destination);

    /// <summary>Installs a new schedule and forgets the step position.</summary>
    /// <param name="steps">The number of inference steps.</param>
    /// <param name="newTimesteps">The timesteps, in order.</param>
    /// <param name="newSigmas">The sigmas, or null.</param>
    protected void SetSchedule(int steps, float[] newTimesteps, float[]? newSigmas)
    {
        InferenceSteps = steps;
        timesteps = newTimesteps;
        SigmaValues = newSigmas;
        StepIndex = null;
    }

    /// <summary>Throws a clear error when the step count is not positive.</summary>
    /// <param name="steps">The requested number of steps.</param>
    protected void ValidateSteps(int steps)
    {
        if (steps < 1 || steps > TrainSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps,
                $"{Name}: the number of inference steps must be between 1 and num_train_timesteps ({TrainSteps}).");
        }
    }

    /// <summary>
    /// Where <paramref name="timestep"/> sits in the schedule: the first match, or the second when it occurs more than
    /// once (Heun repeats timesteps; the second copy starts a fresh step).
    /// </summary>
    /// <param name="timestep">An entry of <see cref="Timesteps"/>.</param>
    protected int IndexForTimestep(float timestep)
    {
        if (timesteps.Length == 0) throw new InvalidOperationException($"{Name}: call SetTimesteps before stepping.");
        var first = Array.IndexOf(timesteps, timestep);
        if (first < 0)
        {
            throw new ArgumentException(
                $"{Name}: timestep {timestep} is not in the schedule ({timesteps[0]} … {timesteps[^1]}); pass an entry of Timesteps.",
                nameof(timestep));
        }

        var second = Array.IndexOf(timesteps, timestep, first + 1);
        return second < 0 ? first : second;
    }

    /// <summary>The current step index, located from <paramref name="timestep"/> on the first call.</summary>
    /// <param name="timestep">The timestep handed to the step or scaling call.</param>
    protected int EnsureStepIndex(float timestep) => StepIndex ??= IndexForTimestep(timestep);

    /// <summary>A reusable buffer of at least <paramref name="length"/> floats.</summary>
    /// <param name="buffer">The field holding the buffer.</param>
    /// <param name="length">The length needed.</param>
    protected static Span<float> Scratch(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length != length) buffer = new float[length];
        return buffer;
    }
}
