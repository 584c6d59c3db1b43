using System.Numerics.Tensors;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Euler's method on the probability-flow ODE (Karras et al. 2022, algorithm 2 without churn); diffusers
/// <c>EulerDiscreteScheduler</c>. Supports Karras sigmas and a zero or sigma_min final sigma.
/// </summary>
public sealed class EulerScheduler : SigmaScheduler
{
    private float[]? derivative;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' Euler defaults.</param>
    public EulerScheduler(SchedulerConfig config) : base("euler", config, zeroSnr: ZeroSnrSupport.ClampTerminal)
    {
        if (config.InterpolationType is not (null or "linear"))
        {
            throw new ArgumentException($"euler: interpolation_type '{config.InterpolationType}' is not supported; use linear.");
        }

        if (config.TimestepType is not (null or "discrete" or "continuous"))
        {
            throw new ArgumentException($"euler: unknown timestep_type '{config.TimestepType}'. Valid values: discrete, continuous.");
        }

        if (config.FinalSigmasType is not (null or "zero" or "sigma_min"))
        {
            throw new ArgumentException($"euler: unknown final_sigmas_type '{config.FinalSigmasType}'. Valid values: zero, sigma_min.");
        }
    }

    /// <inheritdoc />
    public override void SetTimesteps(int steps) => Build(steps, null);

    /// <summary>Uses explicit timesteps (strictly descending) instead of a spacing rule.</summary>
    /// <param name="timesteps">The timesteps; their sigmas are interpolated from the training sigmas.</param>
    public void SetTimesteps(IReadOnlyList<float> timesteps) => Build(timesteps.Count, timesteps);

    /// <summary>Uses explicit sigmas, the final sigma included; the timesteps are placed by log-sigma interpolation.</summary>
    /// <param name="sigmas">N + 1 sigmas, descending.</param>
    public void SetSigmas(IReadOnlyList<float> sigmas)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        if (sigmas.Count < 2) throw new ArgumentException("euler: custom sigmas need at least two entries (one step and the final sigma).", nameof(sigmas));
        var all = sigmas.ToArray();
        var timesteps = all[..^1].Select(s => (float)SigmaSpacing.ToTimestep(s, NoiseSchedule.LogSigmas)).ToArray();
        SetSchedule(timesteps.Length, timesteps, all);
    }

    private void Build(int steps, IReadOnlyList<float>? custom)
    {
        var (sigmas, timesteps) = InterpolatedSchedule(steps, custom: custom);
        var last = Config.FinalSigmasType == "sigma_min" ? NoiseSchedule.Sigmas[0] : 0.0;
        var all = WithFinalSigma(sigmas, last);
        if (Config.TimestepType == "continuous" && Prediction == PredictionType.VPrediction)
        {
            // EDM-style models take c_noise = ln(σ)/4 as their timestep.
            timesteps = all.Take(steps).Select(s => 0.25f * MathF.Log(s)).ToArray();
        }

        SetSchedule(steps, timesteps, all);
    }

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        var index = EnsureStepIndex(timestep);
        var sigma = SigmaValues![index];
        var d = Scratch(ref derivative, sample.Length);
        PredictOriginal(modelOutput, sample, sigma, d);
        Derivative(sample, d, sigma);
        var dt = SigmaValues[index + 1] - sigma;
        TensorPrimitives.MultiplyAdd(d, dt, sample, previousSample);
        StepIndex = index + 1;
    }
}
