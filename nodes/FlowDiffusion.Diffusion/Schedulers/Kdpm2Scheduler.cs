using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// DPM-Solver-2 in Karras' form (k-diffusion <c>sample_dpm_2</c>); diffusers <c>KDPM2DiscreteScheduler</c>. Each step
/// evaluates the model at σ and at the log-midpoint √(σ·σ_next), whose timesteps are interleaved in the schedule.
/// </summary>
public sealed class Kdpm2Scheduler : SigmaScheduler
{
    private float[] sigmasInterpol = [];
    private float[]? firstSample;
    private float[]? x0;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' KDPM2 defaults (betas 0.00085 → 0.012).</param>
    public Kdpm2Scheduler(SchedulerConfig config) : base("kdpm2", config, 0.00085, 0.012)
    {
    }

    /// <inheritdoc />
    public override int Order => 2;

    /// <summary>The midpoint sigmas as diffusers holds them (same layout as <see cref="IScheduler.Sigmas"/>).</summary>
    public IReadOnlyList<float> SigmasInterpol => sigmasInterpol;

    private bool InFirstStage { get; set; } = true;

    /// <inheritdoc />
    public override void SetTimesteps(int steps)
    {
        var (sigmas, timesteps) = InterpolatedSchedule(steps, roundKarrasTimesteps: true);
        var s = WithFinalSigma(sigmas, 0);
        var interpol = new float[s.Length];
        for (var i = 0; i < s.Length; i++)
        {
            interpol[i] = LogMidpoint(s[i], s[(i - 1 + s.Length) % s.Length]);
        }

        var schedule = new float[2 * steps - 1];
        schedule[0] = timesteps[0];
        for (var i = 1; i < steps; i++)
        {
            schedule[2 * i - 1] = (float)SigmaSpacing.ToTimestep(interpol[i], NoiseSchedule.LogSigmas);
            schedule[2 * i] = timesteps[i];
        }

        sigmasInterpol = Interleave.RepeatAllWithTail(interpol);
        SetSchedule(steps, schedule, Interleave.RepeatAllWithTail(s));
        InFirstStage = true;
    }

    /// <summary>exp(lerp(ln a, ln b, ½)) with torch's lerp rule for weight ½ (end − (end − start)·½).</summary>
    internal static float LogMidpoint(float a, float b)
    {
        float start = MathF.Log(a), end = MathF.Log(b);
        return MathF.Exp(end - (end - start) * 0.5f);
    }

    /// <inheritdoc />
    protected override float ModelInputSigma(int stepIndex) =>
        InFirstStage ? SigmaValues![stepIndex] : sigmasInterpol[stepIndex];

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        var index = EnsureStepIndex(timestep);
        var sigmas = SigmaValues!;
        var d = Scratch(ref x0, sample.Length);
        if (InFirstStage)
        {
            float sigma = sigmas[index], sigmaMid = sigmasInterpol[index + 1];
            PredictOriginal(modelOutput, sample, sigma, d);
            Derivative(sample, d, sigma);
            var start = Scratch(ref firstSample, sample.Length);
            sample.CopyTo(start);
            var dt = sigmaMid - sigma;
            for (var i = 0; i < d.Length; i++) previousSample[i] = start[i] + d[i] * dt;
            InFirstStage = false;
        }
        else
        {
            float sigma = sigmas[index - 1], sigmaMid = sigmasInterpol[index], sigmaNext = sigmas[index];
            PredictOriginal(modelOutput, sample, sigmaMid, d);
            Derivative(sample, d, sigmaMid);
            var dt = sigmaNext - sigma;
            var start = firstSample!;
            for (var i = 0; i < d.Length; i++) previousSample[i] = start[i] + d[i] * dt;
            InFirstStage = true;
        }

        StepIndex = index + 1;
    }
}
