using System.Numerics.Tensors;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// DPM-Solver / DPM-Solver++ multistep (Lu et al. 2022, "DPM-Solver++", algorithm 2), with the SDE variants;
/// diffusers <c>DPMSolverMultistepScheduler</c>. With the defaults (dpmsolver++, order 2, midpoint) this is the
/// "DPM++ 2M" sampler; with Karras sigmas "DPM++ 2M Karras".
/// </summary>
public sealed class DpmSolverMultistepScheduler : ExponentialIntegratorScheduler
{
    private static readonly string[] Algorithms = ["dpmsolver++", "dpmsolver", "sde-dpmsolver++", "sde-dpmsolver"];
    private float[]? fresh;
    private float[]? slope;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' defaults (dpmsolver++, order 2, midpoint, lower_order_final).</param>
    public DpmSolverMultistepScheduler(SchedulerConfig config) : base("dpmpp_2m", config, ZeroSnrSupport.ClampTerminal)
    {
        AlgorithmType = config.AlgorithmType switch
        {
            null or "deis" => "dpmsolver++",
            var a when Algorithms.Contains(a) => a,
            var a => throw new ArgumentException($"dpmpp_2m: unknown algorithm_type '{a}'. Valid values: {string.Join(", ", Algorithms)}."),
        };
        SolverType = config.SolverType switch
        {
            null or "midpoint" or "logrho" or "bh1" or "bh2" => "midpoint",
            "heun" => "heun",
            var s => throw new ArgumentException($"dpmpp_2m: unknown solver_type '{s}'. Valid values: midpoint, heun."),
        };
        FinalSigmasType = config.FinalSigmasType ?? "zero";
        if (AlgorithmType is "dpmsolver" or "sde-dpmsolver" && FinalSigmasType == "zero")
        {
            throw new ArgumentException($"dpmpp_2m: final_sigmas_type 'zero' is not supported with algorithm_type '{AlgorithmType}'; set final_sigmas_type to sigma_min.");
        }

        if (config.VarianceType is not null)
        {
            throw new ArgumentException($"dpmpp_2m: variance_type '{config.VarianceType}' (learned variance) is not supported.");
        }
    }

    /// <summary>dpmsolver++, dpmsolver, sde-dpmsolver++ or sde-dpmsolver.</summary>
    public string AlgorithmType { get; }

    /// <summary>midpoint or heun (the second-order update rule).</summary>
    public string SolverType { get; }

    /// <summary>zero or sigma_min.</summary>
    public string FinalSigmasType { get; }

    private bool DataPrediction => AlgorithmType is "dpmsolver++" or "sde-dpmsolver++";

    private bool Stochastic => AlgorithmType.StartsWith("sde", StringComparison.Ordinal);

    /// <summary>Uses explicit integer timesteps (strictly descending, inside the training range) instead of a spacing rule.</summary>
    /// <param name="timesteps">The timesteps.</param>
    public void SetTimesteps(IReadOnlyList<int> timesteps)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        if (timesteps.Count == 0 || timesteps[0] >= TrainSteps || timesteps[^1] < 0 || timesteps.Zip(timesteps.Skip(1)).Any(p => p.Second >= p.First))
        {
            throw new ArgumentException($"dpmpp_2m: custom timesteps must be a non-empty, strictly descending list inside [0, {TrainSteps}).", nameof(timesteps));
        }

        BuildSchedule(timesteps.Count, TrainSteps, FinalSigma(FinalSigmasType), custom: timesteps);
    }

    /// <inheritdoc />
    public override void SetTimesteps(int steps)
    {
        // Timesteps whose λ falls below lambda_min_clipped are cut off the top of the range (stabilises cosine schedules).
        var lambdaMin = Config.LambdaMinClipped ?? double.NegativeInfinity;
        var clipped = 0;
        var alphaBars = NoiseSchedule.AlphasCumprod;
        for (var t = 0; t < alphaBars.Length; t++)
        {
            var lambda = MathF.Log(MathF.Sqrt(alphaBars[t])) - MathF.Log(MathF.Sqrt(1f - alphaBars[t]));
            if (lambda < lambdaMin) clipped++;
        }

        // Karras sigmas end at final_sigmas_type too (0 by default), as diffusers' class does: repeating the last one
        // would leave that much noise in the result.
        BuildSchedule(steps, TrainSteps - clipped, FinalSigma(FinalSigmasType), karrasRepeatsLast: false);
    }

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        var index = EnsureStepIndex(timestep);
        var count = TimestepValues.Length;
        var lowerOrderFinal = index == count - 1 &&
            (Config.EulerAtFinal == true || ((Config.LowerOrderFinal ?? true) && count < 15) || FinalSigmasType == "zero");
        var lowerOrderSecond = index == count - 2 && (Config.LowerOrderFinal ?? true) && count < 15;

        PushConvertedOutput(modelOutput, sample, index, DataPrediction ? SolverTarget.Data : SolverTarget.Noise);

        Span<float> z = default;
        if (Stochastic)
        {
            if (noise is null) throw new ArgumentNullException(nameof(noise), $"{AlgorithmType} is stochastic: pass the loop's noise source.");
            z = Scratch(ref fresh, sample.Length);
            noise.FillStandardNormal(z);
        }

        if (SolverOrder == 1 || LowerOrderSteps < 1 || lowerOrderFinal) FirstOrder(index, sample, z, previousSample);
        else if (SolverOrder == 2 || LowerOrderSteps < 2 || lowerOrderSecond) SecondOrder(index, sample, z, previousSample);
        else ThirdOrder(index, sample, previousSample);

        if (LowerOrderSteps < SolverOrder) LowerOrderSteps++;
        StepIndex = index + 1;
    }

    private void FirstOrder(int index, ReadOnlySpan<float> sample, ReadOnlySpan<float> z, Span<float> destination)
    {
        var m0 = ModelOutputs[^1]!;
        var (alphaT, sigmaT) = AlphaSigma(SigmaValues![index + 1]);
        var (alphaS, sigmaS) = AlphaSigma(SigmaValues[index]);
        var h = Lambda(index + 1) - Lambda(index);
        float a, b, c = 0f;
        switch (AlgorithmType)
        {
            case "dpmsolver++":
                (a, b) = (sigmaT / sigmaS, -(alphaT * (MathF.Exp(-h) - 1f)));
                break;
            case "dpmsolver":
                (a, b) = (alphaT / alphaS, -(sigmaT * (MathF.Exp(h) - 1f)));
                break;
            case "sde-dpmsolver++":
                (a, b, c) = (sigmaT / sigmaS * MathF.Exp(-h), alphaT * (1f - MathF.Exp(-2f * h)), sigmaT * MathF.Sqrt(1f - MathF.Exp(-2f * h)));
                break;
            default:
                (a, b, c) = (alphaT / alphaS, -(2f * (sigmaT * (MathF.Exp(h) - 1f))), sigmaT * MathF.Sqrt(MathF.Exp(2f * h) - 1f));
                break;
        }

        TensorPrimitives.Multiply(sample, a, destination);
        TensorPrimitives.MultiplyAdd(m0, b, destination, destination);
        if (!z.IsEmpty) TensorPrimitives.MultiplyAdd(z, c, destination, destination);
    }

    private void SecondOrder(int index, ReadOnlySpan<float> sample, ReadOnlySpan<float> z, Span<float> destination)
    {
        float[] m0 = ModelOutputs[^1]!, m1 = ModelOutputs[^2]!;
        var (alphaT, sigmaT) = AlphaSigma(SigmaValues![index + 1]);
        var (alphaS0, sigmaS0) = AlphaSigma(SigmaValues[index]);
        float lambdaT = Lambda(index + 1), lambdaS0 = Lambda(index), lambdaS1 = Lambda(index - 1);
        float h = lambdaT - lambdaS0, h0 = lambdaS0 - lambdaS1;
        var invR0 = 1f / (h0 / h);
        float a, b0, b1, c = 0f;
        var heun = SolverType == "heun";
        switch (AlgorithmType)
        {
            case "dpmsolver++":
                a = sigmaT / sigmaS0;
                b0 = -(alphaT * (MathF.Exp(-h) - 1f));
                b1 = heun ? alphaT * ((MathF.Exp(-h) - 1f) / h + 1f) : -(0.5f * (alphaT * (MathF.Exp(-h) - 1f)));
                break;
            case "dpmsolver":
                a = alphaT / alphaS0;
                b0 = -(sigmaT * (MathF.Exp(h) - 1f));
                b1 = heun ? -(sigmaT * ((MathF.Exp(h) - 1f) / h - 1f)) : -(0.5f * (sigmaT * (MathF.Exp(h) - 1f)));
                break;
            case "sde-dpmsolver++":
                a = sigmaT / sigmaS0 * MathF.Exp(-h);
                b0 = alphaT * (1f - MathF.Exp(-2f * h));
                b1 = heun ? alphaT * ((1f - MathF.Exp(-2f * h)) / (-2f * h) + 1f) : 0.5f * (alphaT * (1f - MathF.Exp(-2f * h)));
                c = sigmaT * MathF.Sqrt(1f - MathF.Exp(-2f * h));
                break;
            default:
                a = alphaT / alphaS0;
                b0 = -(2f * (sigmaT * (MathF.Exp(h) - 1f)));
                b1 = heun ? -(2f * (sigmaT * ((MathF.Exp(h) - 1f) / h - 1f))) : -(sigmaT * (MathF.Exp(h) - 1f));
                c = sigmaT * MathF.Sqrt(MathF.Exp(2f * h) - 1f);
                break;
        }

        // D1 = (m0 − m1)/r0; x = a·x + b0·D0 + b1·D1 (+ c·z), summed in diffusers' order.
        var d1 = Scratch(ref slope, destination.Length);
        TensorPrimitives.Subtract(m0, m1, d1);
        TensorPrimitives.Multiply(d1, invR0, d1);
        TensorPrimitives.Multiply(sample, a, destination);
        TensorPrimitives.MultiplyAdd(m0, b0, destination, destination);
        TensorPrimitives.MultiplyAdd(d1, b1, destination, destination);
        if (!z.IsEmpty) TensorPrimitives.MultiplyAdd(z, c, destination, destination);
    }

    private void ThirdOrder(int index, ReadOnlySpan<float> sample, Span<float> destination)
    {
        if (Stochastic) throw new NotSupportedException($"{AlgorithmType}: third-order SDE steps are not supported; use solver_order 2.");
        float[] m0 = ModelOutputs[^1]!, m1 = ModelOutputs[^2]!, m2 = ModelOutputs[^3]!;
        var (alphaT, sigmaT) = AlphaSigma(SigmaValues![index + 1]);
        var (alphaS0, sigmaS0) = AlphaSigma(SigmaValues[index]);
        float lambdaT = Lambda(index + 1), lambdaS0 = Lambda(index), lambdaS1 = Lambda(index - 1), lambdaS2 = Lambda(index - 2);
        float h = lambdaT - lambdaS0, h0 = lambdaS0 - lambdaS1, h1 = lambdaS1 - lambdaS2;
        float r0 = h0 / h, r1 = h1 / h;
        float a, b0, b1, b2;
        if (DataPrediction)
        {
            a = sigmaT / sigmaS0;
            b0 = -(alphaT * (MathF.Exp(-h) - 1f));
            b1 = alphaT * ((MathF.Exp(-h) - 1f) / h + 1f);
            b2 = -(alphaT * ((MathF.Exp(-h) - 1f + h) / (h * h) - 0.5f));
        }
        else
        {
            a = alphaT / alphaS0;
            b0 = -(sigmaT * (MathF.Exp(h) - 1f));
            b1 = -(sigmaT * ((MathF.Exp(h) - 1f) / h - 1f));
            b2 = -(sigmaT * ((MathF.Exp(h) - 1f - h) / (h * h) - 0.5f));
        }

        float invR0 = 1f / r0, invR1 = 1f / r1, w = r0 / (r0 + r1), invSum = 1f / (r0 + r1);
        for (var i = 0; i < destination.Length; i++)
        {
            var d10 = invR0 * (m0[i] - m1[i]);
            var d11 = invR1 * (m1[i] - m2[i]);
            var d1 = d10 + w * (d10 - d11);
            var d2 = invSum * (d10 - d11);
            destination[i] = a * sample[i] + b0 * m0[i] + b1 * d1 + b2 * d2;
        }
    }
}
