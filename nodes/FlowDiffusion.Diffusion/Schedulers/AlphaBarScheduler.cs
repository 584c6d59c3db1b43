using System.Numerics.Tensors;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// The DDPM-family samplers (DDIM, PNDM, DDPM) that step on integer training timesteps through alpha_bar directly:
/// the state is x = √ᾱ·x₀ + √(1 − ᾱ)·ε and the model input is the state itself.
/// </summary>
public abstract class AlphaBarScheduler : DiffusersScheduler
{
    /// <summary>Creates the scheduler.</summary>
    /// <param name="name">The user-facing short name.</param>
    /// <param name="config">The configuration.</param>
    /// <param name="zeroSnr">How this class treats <c>rescale_betas_zero_snr</c>.</param>
    protected AlphaBarScheduler(string name, SchedulerConfig config, ZeroSnrSupport zeroSnr = ZeroSnrSupport.None) : base(name, config, zeroSnr: zeroSnr)
    {
        Spacing = TimestepSpacing.Validate(config.TimestepSpacing ?? "leading");
    }

    /// <summary>The timestep spacing in effect (these classes default to "leading").</summary>
    public string Spacing { get; }

    /// <summary>The distance between consecutive timesteps, num_train_timesteps // N.</summary>
    protected int StepRatio => TrainSteps / InferenceSteps;

    /// <summary>√ᾱ·x₀ + √(1 − ᾱ)·noise at the integer <paramref name="timestep"/>.</summary>
    public override void AddNoise(ReadOnlySpan<float> original, ReadOnlySpan<float> noise, float timestep, Span<float> destination)
    {
        var alphaBar = NoiseSchedule.AlphaBar((int)timestep);
        float a = MathF.Sqrt(alphaBar), b = MathF.Sqrt(1f - alphaBar);
        for (var i = 0; i < destination.Length; i++) destination[i] = a * original[i] + b * noise[i];
    }

    /// <summary>The integer schedule for <paramref name="steps"/> steps, descending.</summary>
    /// <param name="steps">The number of inference steps.</param>
    protected int[] DiscreteTimesteps(int steps)
    {
        ValidateSteps(steps);
        return TimestepSpacing.Discrete(TrainSteps, steps, Spacing, Config.StepsOffset ?? 0);
    }

    /// <summary>
    /// x₀ and ε from the model output at alpha_bar <paramref name="alphaBar"/> (float32, diffusers' formulas), then
    /// dynamic thresholding or clipping of x₀ as configured.
    /// </summary>
    /// <param name="modelOutput">The model output.</param>
    /// <param name="sample">The state.</param>
    /// <param name="alphaBar">alpha_bar of the current timestep.</param>
    /// <param name="x0">Receives the predicted clean sample.</param>
    /// <param name="epsilon">Receives the predicted noise, or is left alone when empty.</param>
    protected void Predict(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float alphaBar, Span<float> x0, Span<float> epsilon)
    {
        var betaBar = 1f - alphaBar;
        float sqrtAlpha = MathF.Sqrt(alphaBar), sqrtBeta = MathF.Sqrt(betaBar);
        var wantEpsilon = !epsilon.IsEmpty;
        switch (Prediction)
        {
            case PredictionType.Epsilon:
                // x₀ = (x − √(1−ᾱ)·ε)/√ᾱ
                TensorPrimitives.MultiplyAdd(modelOutput, -sqrtBeta, sample, x0);
                TensorPrimitives.Divide(x0, sqrtAlpha, x0);
                if (wantEpsilon) modelOutput.CopyTo(epsilon);
                break;
            case PredictionType.Sample:
                modelOutput.CopyTo(x0);
                if (wantEpsilon)
                {
                    TensorPrimitives.MultiplyAdd(modelOutput, -sqrtAlpha, sample, epsilon);
                    TensorPrimitives.Divide(epsilon, sqrtBeta, epsilon);
                }

                break;
            default:
                for (var i = 0; i < x0.Length; i++)
                {
                    float m = modelOutput[i], x = sample[i];
                    x0[i] = sqrtAlpha * x - sqrtBeta * m;
                    if (wantEpsilon) epsilon[i] = sqrtAlpha * m + sqrtBeta * x;
                }

                break;
        }

        if (Config.Thresholding == true)
        {
            DynamicThreshold.Apply(x0, ThresholdingBatch, Config.DynamicThresholdingRatio ?? 0.995, Config.SampleMaxValue ?? 1.0);
        }
        else if (Config.ClipSample ?? true)
        {
            var range = (float)(Config.ClipSampleRange ?? 1.0);
            TensorPrimitives.Clamp(x0, -range, range, x0);
        }
    }
}
