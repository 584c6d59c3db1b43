using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Latent consistency model multistep sampling (Luo et al. 2023, Algorithm 3); diffusers <c>LCMScheduler</c>. Each step
/// maps the state to the consistency function's estimate c_skip·x + c_out·x̂₀ and, except at the last step, re-noises
/// it to the next timestep with fresh noise from the loop's noise source. Timesteps are a subset of the
/// <c>original_inference_steps</c> (50) skipping-step schedule the model was distilled on.
/// </summary>
public sealed class LcmScheduler : AlphaBarScheduler
{
    /// <summary>The data standard deviation σ_data of the consistency boundary condition.</summary>
    public const float SigmaData = 0.5f;

    private readonly float finalAlphaBar;
    private float[]? x0;
    private float[]? fresh;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' LCM defaults (clip_sample false, set_alpha_to_one true, original_inference_steps 50, timestep_scaling 10).</param>
    public LcmScheduler(SchedulerConfig config)
        : base("lcm", (config ?? throw new ArgumentNullException(nameof(config))) with { ClipSample = config.ClipSample ?? false })
    {
        finalAlphaBar = config.SetAlphaToOne ?? true ? 1f : NoiseSchedule.AlphaBar(0);
        OriginalSteps = config.OriginalInferenceSteps ?? 50;
        TimestepScaling = (float)(config.TimestepScaling ?? 10.0);
        if (OriginalSteps < 1 || OriginalSteps > TrainSteps)
        {
            throw new ArgumentException($"lcm: original_inference_steps {OriginalSteps} must lie between 1 and num_train_timesteps ({TrainSteps}).");
        }
    }

    /// <summary>The number of steps of the schedule the model was distilled on.</summary>
    public int OriginalSteps { get; }

    /// <summary>The factor applied to the timestep in the boundary condition's scalings.</summary>
    public float TimestepScaling { get; }

    /// <summary>
    /// The distillation schedule k·i − 1 (k = num_train_timesteps // original_inference_steps, i = 1 … original), reversed,
    /// read at ⌊linspace(0, original, steps, endpoint=False)⌋: 4 steps of SD's 1,000 give 999, 759, 499, 259.
    /// </summary>
    public override void SetTimesteps(int steps)
    {
        ValidateSteps(steps);
        if (steps > OriginalSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"lcm: at most original_inference_steps ({OriginalSteps}) steps; LCMs are meant for 1–8.");
        }

        var k = TrainSteps / OriginalSteps;
        var timesteps = new float[steps];
        for (var s = 0; s < steps; s++)
        {
            var index = (int)Math.Floor(s * (double)OriginalSteps / steps);
            timesteps[s] = (OriginalSteps - index) * k - 1;
        }

        SetSchedule(steps, timesteps, null);
    }

    /// <summary>c_skip and c_out of the discrete boundary condition at <paramref name="timestep"/>: σ²/((s·t)² + σ²) and s·t/√((s·t)² + σ²).</summary>
    public (float Skip, float Out) BoundaryScalings(float timestep)
    {
        var scaled = timestep * TimestepScaling;
        var denominator = scaled * scaled + SigmaData * SigmaData;
        return (SigmaData * SigmaData / denominator, scaled / MathF.Sqrt(denominator));
    }

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        var index = EnsureStepIndex(timestep);
        var last = index == InferenceSteps - 1;
        var t = (int)timestep;
        var previous = last ? t : (int)TimestepValues[index + 1];
        var alphaBar = NoiseSchedule.AlphaBar(t);
        var alphaBarPrev = previous >= 0 ? NoiseSchedule.AlphaBar(previous) : finalAlphaBar;
        var (skip, output) = BoundaryScalings(timestep);

        var predicted = Scratch(ref x0, sample.Length);
        Predict(modelOutput, sample, alphaBar, predicted, []);
        for (var i = 0; i < sample.Length; i++) predicted[i] = output * predicted[i] + skip * sample[i];

        if (last)
        {
            predicted.CopyTo(previousSample);
        }
        else
        {
            if (noise is null) throw new ArgumentNullException(nameof(noise), "lcm re-noises between steps: pass the loop's noise source.");
            var z = Scratch(ref fresh, sample.Length);
            noise.FillStandardNormal(z);
            float a = MathF.Sqrt(alphaBarPrev), b = MathF.Sqrt(1f - alphaBarPrev);
            for (var i = 0; i < sample.Length; i++) previousSample[i] = a * predicted[i] + b * z[i];
        }

        StepIndex = index + 1;
    }
}
