using System.Numerics.Tensors;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Ancestral DPM-Solver-2 (k-diffusion <c>sample_dpm_2_ancestral</c>); diffusers <c>KDPM2AncestralDiscreteScheduler</c>.
/// The midpoint lies between σ and σ_down; the second stage adds noise of standard deviation σ_up drawn from the
/// loop's noise source.
/// </summary>
public sealed class Kdpm2AncestralScheduler : SigmaScheduler
{
    private float[] sigmasInterpol = [];
    private float[] sigmasUp = [];
    private float[] sigmasDown = [];
    private float[]? firstSample;
    private float[]? x0;
    private float[]? fresh;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' defaults (betas 0.00085 → 0.012).</param>
    public Kdpm2AncestralScheduler(SchedulerConfig config) : base("kdpm2_a", config, 0.00085, 0.012)
    {
    }

    /// <inheritdoc />
    public override int Order => 2;

    private bool InFirstStage { get; set; } = true;

    /// <inheritdoc />
    public override void SetTimesteps(int steps)
    {
        var (sigmas, timesteps) = InterpolatedSchedule(steps, roundKarrasTimesteps: true);
        var s = WithFinalSigma(sigmas, 0);
        int n = s.Length;
        float[] up = new float[n], down = new float[n], interpol = new float[n];
        for (var i = 0; i < n; i++)
        {
            var next = i + 1 < n ? s[i + 1] : 0f;
            up[i] = MathF.Sqrt(next * next * (s[i] * s[i] - next * next) / (s[i] * s[i]));
            down[i] = i == n - 1 ? 0f : MathF.Sqrt(next * next - up[i] * up[i]);
            interpol[i] = i >= n - 2 ? 0f : Kdpm2Scheduler.LogMidpoint(s[i], down[i]);
        }

        var schedule = new float[2 * steps - 1];
        schedule[0] = timesteps[0];
        for (var i = 1; i < steps; i++)
        {
            schedule[2 * i - 1] = (float)SigmaSpacing.ToTimestep(interpol[i - 1], NoiseSchedule.LogSigmas);
            schedule[2 * i] = timesteps[i];
        }

        sigmasInterpol = Interleave.RepeatAllWithTail(interpol);
        sigmasUp = Interleave.RepeatAllWithTail(up);
        sigmasDown = Interleave.RepeatAllWithTail(down);
        SetSchedule(steps, schedule, Interleave.RepeatAllWithTail(s));
        InFirstStage = true;
    }

    /// <inheritdoc />
    protected override float ModelInputSigma(int stepIndex) =>
        InFirstStage ? SigmaValues![stepIndex] : sigmasInterpol[stepIndex - 1];

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        var index = EnsureStepIndex(timestep);
        var sigmas = SigmaValues!;
        var d = Scratch(ref x0, sample.Length);
        if (InFirstStage)
        {
            float sigma = sigmas[index], sigmaMid = sigmasInterpol[index];
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
            if (noise is null) throw new ArgumentNullException(nameof(noise), "kdpm2_a is stochastic: pass the loop's noise source.");
            float sigma = sigmas[index - 1], sigmaMid = sigmasInterpol[index - 1];
            float sigmaUp = sigmasUp[index - 1], sigmaDown = sigmasDown[index - 1];
            PredictOriginal(modelOutput, sample, sigmaMid, d);
            Derivative(sample, d, sigmaMid);
            var dt = sigmaDown - sigma;
            var start = firstSample!;
            for (var i = 0; i < d.Length; i++) previousSample[i] = start[i] + d[i] * dt;
            var z = Scratch(ref fresh, sample.Length);
            noise.FillStandardNormal(z);
            TensorPrimitives.MultiplyAdd(z, sigmaUp, previousSample, previousSample);
            InFirstStage = true;
        }

        StepIndex = index + 1;
    }
}
