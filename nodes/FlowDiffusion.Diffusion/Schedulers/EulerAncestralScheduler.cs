using System.Numerics.Tensors;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Ancestral Euler sampling (k-diffusion <c>sample_euler_ancestral</c>); diffusers
/// <c>EulerAncestralDiscreteScheduler</c>. Each step goes down to σ_down deterministically and adds fresh noise of
/// standard deviation σ_up, drawn from the loop's noise source.
/// </summary>
public sealed class EulerAncestralScheduler : SigmaScheduler
{
    private float[]? derivative;
    private float[]? fresh;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' defaults.</param>
    public EulerAncestralScheduler(SchedulerConfig config) : base("euler_a", config, zeroSnr: ZeroSnrSupport.ClampTerminal)
    {
        if (UseKarrasSigmas) throw new ArgumentException("euler_a: diffusers' EulerAncestralDiscreteScheduler has no Karras sigmas; use euler, dpmpp_2m or kdpm2_a with karras.");
    }

    /// <inheritdoc />
    public override void SetTimesteps(int steps)
    {
        var (sigmas, timesteps) = InterpolatedSchedule(steps);
        SetSchedule(steps, timesteps, WithFinalSigma(sigmas, 0));
    }

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        if (noise is null) throw new ArgumentNullException(nameof(noise), "euler_a is stochastic: pass the loop's noise source.");
        var index = EnsureStepIndex(timestep);
        var sigmaFrom = SigmaValues![index];
        var sigmaTo = SigmaValues[index + 1];
        var sigmaUp = MathF.Sqrt(sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo) / (sigmaFrom * sigmaFrom));
        var sigmaDown = MathF.Sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);

        var d = Scratch(ref derivative, sample.Length);
        PredictOriginal(modelOutput, sample, sigmaFrom, d);
        Derivative(sample, d, sigmaFrom);
        TensorPrimitives.MultiplyAdd(d, sigmaDown - sigmaFrom, sample, previousSample);

        var z = Scratch(ref fresh, sample.Length);
        noise.FillStandardNormal(z);
        TensorPrimitives.MultiplyAdd(z, sigmaUp, previousSample, previousSample);
        StepIndex = index + 1;
    }
}
