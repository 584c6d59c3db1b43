using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Diffusion exponential integrator sampler (Zhang &amp; Chen 2022) in its log-ρ form: a multistep method on the noise
/// prediction whose coefficients integrate the Lagrange polynomial in ln ρ, ρ = σ/α; diffusers <c>DEISMultistepScheduler</c>.
/// </summary>
public sealed class DeisScheduler : ExponentialIntegratorScheduler
{
    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' defaults (deis, logrho, order 2, lower_order_final).</param>
    public DeisScheduler(SchedulerConfig config) : base("deis", config)
    {
        if (config.AlgorithmType is not (null or "deis" or "dpmsolver" or "dpmsolver++"))
        {
            throw new ArgumentException($"deis: algorithm_type '{config.AlgorithmType}' is not supported; use deis.");
        }

        if (config.SolverType is not (null or "logrho" or "midpoint" or "heun" or "bh1" or "bh2"))
        {
            throw new ArgumentException($"deis: solver_type '{config.SolverType}' is not supported; use logrho.");
        }
    }

    /// <inheritdoc />
    public override void SetTimesteps(int steps) => BuildSchedule(steps, TrainSteps, NoiseSchedule.Sigmas[0]);

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        var index = EnsureStepIndex(timestep);
        var count = TimestepValues.Length;
        var lowerOrderFinal = index == count - 1 && (Config.LowerOrderFinal ?? true) && count < 15;
        var lowerOrderSecond = index == count - 2 && (Config.LowerOrderFinal ?? true) && count < 15;
        PushConvertedOutput(modelOutput, sample, index, SolverTarget.NoiseViaData);

        if (SolverOrder == 1 || LowerOrderSteps < 1 || lowerOrderFinal) FirstOrder(index, sample, previousSample);
        else if (SolverOrder == 2 || LowerOrderSteps < 2 || lowerOrderSecond) SecondOrder(index, sample, previousSample);
        else ThirdOrder(index, sample, previousSample);

        if (LowerOrderSteps < SolverOrder) LowerOrderSteps++;
        StepIndex = index + 1;
    }

    private void FirstOrder(int index, ReadOnlySpan<float> sample, Span<float> destination)
    {
        var m0 = ModelOutputs[^1]!;
        var (alphaT, sigmaT) = AlphaSigma(SigmaValues![index + 1]);
        var (alphaS, _) = AlphaSigma(SigmaValues[index]);
        var h = Lambda(index + 1) - Lambda(index);
        float a = alphaT / alphaS, b = sigmaT * (MathF.Exp(h) - 1f);
        for (var i = 0; i < destination.Length; i++) destination[i] = a * sample[i] - b * m0[i];
    }

    private void SecondOrder(int index, ReadOnlySpan<float> sample, Span<float> destination)
    {
        float[] m0 = ModelOutputs[^1]!, m1 = ModelOutputs[^2]!;
        float rhoT = Rho(index + 1), rhoS0 = Rho(index), rhoS1 = Rho(index - 1);

        // ∫ of the linear Lagrange basis in ln ρ: t·(ln t − ln c − 1)/(ln b − ln c).
        static float Integral(float t, float b, float c) => t * (-MathF.Log(c) + MathF.Log(t) - 1f) / (MathF.Log(b) - MathF.Log(c));
        var coef1 = Integral(rhoT, rhoS0, rhoS1) - Integral(rhoS0, rhoS0, rhoS1);
        var coef2 = Integral(rhoT, rhoS1, rhoS0) - Integral(rhoS0, rhoS1, rhoS0);
        var alphaT = AlphaSigma(SigmaValues![index + 1]).Alpha;
        var alphaS0 = AlphaSigma(SigmaValues[index]).Alpha;
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = alphaT * (sample[i] / alphaS0 + coef1 * m0[i] + coef2 * m1[i]);
        }
    }

    private void ThirdOrder(int index, ReadOnlySpan<float> sample, Span<float> destination)
    {
        float[] m0 = ModelOutputs[^1]!, m1 = ModelOutputs[^2]!, m2 = ModelOutputs[^3]!;
        float rhoT = Rho(index + 1), rhoS0 = Rho(index), rhoS1 = Rho(index - 1), rhoS2 = Rho(index - 2);

        // ∫ of the quadratic Lagrange basis in ln ρ through b (with nodes c, d).
        static float Integral(float t, float b, float c, float d)
        {
            float lt = MathF.Log(t), lb = MathF.Log(b), lc = MathF.Log(c), ld = MathF.Log(d);
            var numerator = t * (lc * (ld - lt + 1f) - ld * lt + ld + lt * lt - 2f * lt + 2f);
            return numerator / ((lb - lc) * (lb - ld));
        }

        var coef1 = Integral(rhoT, rhoS0, rhoS1, rhoS2) - Integral(rhoS0, rhoS0, rhoS1, rhoS2);
        var coef2 = Integral(rhoT, rhoS1, rhoS2, rhoS0) - Integral(rhoS0, rhoS1, rhoS2, rhoS0);
        var coef3 = Integral(rhoT, rhoS2, rhoS0, rhoS1) - Integral(rhoS0, rhoS2, rhoS0, rhoS1);
        var alphaT = AlphaSigma(SigmaValues![index + 1]).Alpha;
        var alphaS0 = AlphaSigma(SigmaValues[index]).Alpha;
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = alphaT * (sample[i] / alphaS0 + coef1 * m0[i] + coef2 * m1[i] + coef3 * m2[i]);
        }
    }

    private float Rho(int index)
    {
        var (alpha, sigma) = AlphaSigma(SigmaValues![index]);
        return sigma / alpha;
    }
}
