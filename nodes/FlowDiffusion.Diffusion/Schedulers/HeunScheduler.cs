using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Heun's second-order method (Karras et al. 2022, algorithm 1); diffusers <c>HeunDiscreteScheduler</c>. Every interior
/// timestep appears twice: the first call takes an Euler step, the second averages the two slopes.
/// </summary>
public sealed class HeunScheduler : SigmaScheduler
{
    private float[]? firstSample;
    private float[]? firstDerivative;
    private float[]? derivative;
    private float? firstDt;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' Heun defaults (betas 0.00085 → 0.012).</param>
    public HeunScheduler(SchedulerConfig config) : base("heun", config, 0.00085, 0.012)
    {
    }

    /// <inheritdoc />
    public override int Order => 2;

    private bool InFirstStage => firstDt is null;

    /// <inheritdoc />
    public override void SetTimesteps(int steps) => Build(steps, null);

    /// <summary>Uses N explicit, strictly descending timesteps; the interior ones are doubled as usual.</summary>
    /// <param name="timesteps">The distinct timesteps.</param>
    public void SetTimesteps(IReadOnlyList<float> timesteps) => Build(timesteps.Count, timesteps);

    private void Build(int steps, IReadOnlyList<float>? custom)
    {
        var (sigmas, timesteps) = InterpolatedSchedule(steps, custom: custom);
        var base32 = WithFinalSigma(sigmas, 0);
        SetSchedule(steps, Interleave.RepeatInterior(timesteps, lastTwice: true), Interleave.RepeatInterior(base32, lastTwice: false));
        firstDt = null;
    }

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        var index = EnsureStepIndex(timestep);
        var sigmas = SigmaValues!;
        var length = sample.Length;
        if (InFirstStage)
        {
            float sigma = sigmas[index], sigmaNext = sigmas[index + 1];
            var d = Scratch(ref firstDerivative, length);
            PredictOriginal(modelOutput, sample, sigma, d);
            ClipIfConfigured(d);
            Derivative(sample, d, sigma);
            var dt = sigmaNext - sigma;
            var start = Scratch(ref firstSample, length);
            sample.CopyTo(start);
            firstDt = dt;
            for (var i = 0; i < length; i++) previousSample[i] = start[i] + d[i] * dt;
        }
        else
        {
            var sigmaNext = sigmas[index];
            var d2 = Scratch(ref derivative, length);
            PredictOriginal(modelOutput, sample, sigmaNext, d2);
            ClipIfConfigured(d2);
            Derivative(sample, d2, sigmaNext);
            var dt = firstDt!.Value;
            var d1 = firstDerivative!;
            var start = firstSample!;
            for (var i = 0; i < length; i++) previousSample[i] = start[i] + (d1[i] + d2[i]) / 2f * dt;
            firstDt = null;
        }

        StepIndex = index + 1;
    }

    private void ClipIfConfigured(Span<float> x0)
    {
        if (Config.ClipSample != true) return;
        var range = (float)(Config.ClipSampleRange ?? 1.0);
        for (var i = 0; i < x0.Length; i++) x0[i] = Math.Clamp(x0[i], -range, range);
    }
}
