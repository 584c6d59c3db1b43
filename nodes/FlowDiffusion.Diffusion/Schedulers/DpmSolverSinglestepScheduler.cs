using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Single-step DPM-Solver / DPM-Solver++ (Lu et al. 2022, algorithm 1): steps are grouped by the order list
/// (e.g. 1, 2, 1, 2 …), each group restarting from the sample at its first step; diffusers
/// <c>DPMSolverSinglestepScheduler</c>.
/// </summary>
public sealed class DpmSolverSinglestepScheduler : ExponentialIntegratorScheduler
{
    private int[] orderList = [];
    private float[]? groupStart;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' defaults (dpmsolver++, order 2, midpoint, final sigma zero).</param>
    public DpmSolverSinglestepScheduler(SchedulerConfig config) : base("dpm_single", config)
    {
        AlgorithmType = config.AlgorithmType switch
        {
            null or "deis" or "dpmsolver++" => "dpmsolver++",
            "dpmsolver" => "dpmsolver",
            var a => throw new ArgumentException($"dpm_single: algorithm_type '{a}' is not supported. Valid values: dpmsolver++, dpmsolver."),
        };
        SolverType = config.SolverType switch
        {
            null or "midpoint" or "logrho" or "bh1" or "bh2" => "midpoint",
            "heun" => "heun",
            var s => throw new ArgumentException($"dpm_single: unknown solver_type '{s}'. Valid values: midpoint, heun."),
        };
        FinalSigmasType = config.FinalSigmasType ?? "zero";
        LowerOrderFinal = config.LowerOrderFinal ?? false;
    }

    /// <summary>dpmsolver++ or dpmsolver.</summary>
    public string AlgorithmType { get; }

    /// <summary>midpoint or heun.</summary>
    public string SolverType { get; }

    /// <summary>zero or sigma_min.</summary>
    public string FinalSigmasType { get; }

    /// <summary>
    /// Whether the last group is shortened; diffusers switches this on for good when the step count is not a multiple
    /// of the order or the final sigma is zero.
    /// </summary>
    public bool LowerOrderFinal { get; private set; }

    /// <summary>The solver order used at each step.</summary>
    public IReadOnlyList<int> OrderList => orderList;

    private bool DataPrediction => AlgorithmType == "dpmsolver++";

    /// <inheritdoc />
    public override void SetTimesteps(int steps)
    {
        var lambdaMin = Config.LambdaMinClipped ?? double.NegativeInfinity;
        var clipped = 0;
        foreach (var alphaBar in NoiseSchedule.AlphasCumprod)
        {
            if (MathF.Log(MathF.Sqrt(alphaBar)) - MathF.Log(MathF.Sqrt(1f - alphaBar)) < lambdaMin) clipped++;
        }

        // diffusers' single-step class has no timestep_spacing option: a model file's value is ignored, linspace always applies.
        BuildSchedule(steps, TrainSteps - clipped, FinalSigma(FinalSigmasType), karrasRepeatsLast: false, spacing: "linspace");
        groupStart = null;
        if (!LowerOrderFinal && (steps % SolverOrder != 0 || FinalSigmasType == "zero")) LowerOrderFinal = true;
        orderList = OrderListFor(steps);
    }

    private int[] OrderListFor(int steps)
    {
        var order = SolverOrder;
        List<int> orders = [];
        void Repeat(int[] pattern, int times)
        {
            for (var i = 0; i < times; i++) orders.AddRange(pattern);
        }

        if (order == 1) Repeat([1], steps);
        else if (!LowerOrderFinal) Repeat(order == 2 ? [1, 2] : [1, 2, 3], steps / order);
        else if (order == 2)
        {
            if (steps % 2 == 0)
            {
                Repeat([1, 2], steps / 2 - 1);
                orders.AddRange([1, 1]);
            }
            else
            {
                Repeat([1, 2], steps / 2);
                orders.Add(1);
            }
        }
        else
        {
            switch (steps % 3)
            {
                case 0:
                    Repeat([1, 2, 3], steps / 3 - 1);
                    orders.AddRange([1, 2, 1]);
                    break;
                case 1:
                    Repeat([1, 2, 3], steps / 3);
                    orders.Add(1);
                    break;
                default:
                    Repeat([1, 2, 3], steps / 3);
                    orders.AddRange([1, 2]);
                    break;
            }
        }

        if (FinalSigmasType == "zero" && orders.Count > 0) orders[^1] = 1;
        return [.. orders];
    }

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        var index = EnsureStepIndex(timestep);
        PushConvertedOutput(modelOutput, sample, index, DataPrediction ? SolverTarget.Data : SolverTarget.Noise);
        var order = index < orderList.Length ? orderList[index] : 1;

        // A loop that starts mid-schedule (img2img) may land inside a group: fall back to what the history allows.
        while (ModelOutputs[^order] is null) order--;
        var start = Scratch(ref groupStart, sample.Length);
        if (order == 1) sample.CopyTo(start);

        switch (order)
        {
            case 1: FirstOrder(index, start, previousSample); break;
            case 2: SecondOrder(index, start, previousSample); break;
            default: ThirdOrder(index, start, previousSample); break;
        }

        StepIndex = index + 1;
    }

    private void FirstOrder(int index, ReadOnlySpan<float> sample, Span<float> destination)
    {
        var m0 = ModelOutputs[^1]!;
        var (alphaT, sigmaT) = AlphaSigma(SigmaValues![index + 1]);
        var (alphaS, sigmaS) = AlphaSigma(SigmaValues[index]);
        var h = Lambda(index + 1) - Lambda(index);
        var (a, b) = DataPrediction
            ? (sigmaT / sigmaS, -(alphaT * (MathF.Exp(-h) - 1f)))
            : (alphaT / alphaS, -(sigmaT * (MathF.Exp(h) - 1f)));
        for (var i = 0; i < destination.Length; i++) destination[i] = a * sample[i] + b * m0[i];
    }

    private void SecondOrder(int index, ReadOnlySpan<float> sample, Span<float> destination)
    {
        float[] m0 = ModelOutputs[^1]!, m1 = ModelOutputs[^2]!;
        var (alphaT, sigmaT) = AlphaSigma(SigmaValues![index + 1]);
        var (alphaS1, sigmaS1) = AlphaSigma(SigmaValues[index - 1]);
        float lambdaT = Lambda(index + 1), lambdaS0 = Lambda(index), lambdaS1 = Lambda(index - 1);
        float h = lambdaT - lambdaS1, h0 = lambdaS0 - lambdaS1;
        var invR0 = 1f / (h0 / h);
        var heun = SolverType == "heun";
        float a, b0, b1;
        if (DataPrediction)
        {
            a = sigmaT / sigmaS1;
            b0 = -(alphaT * (MathF.Exp(-h) - 1f));
            b1 = heun ? alphaT * ((MathF.Exp(-h) - 1f) / h + 1f) : -(0.5f * (alphaT * (MathF.Exp(-h) - 1f)));
        }
        else
        {
            a = alphaT / alphaS1;
            b0 = -(sigmaT * (MathF.Exp(h) - 1f));
            b1 = heun ? -(sigmaT * ((MathF.Exp(h) - 1f) / h - 1f)) : -(0.5f * (sigmaT * (MathF.Exp(h) - 1f)));
        }

        for (var i = 0; i < destination.Length; i++)
        {
            var d1 = invR0 * (m0[i] - m1[i]);
            destination[i] = a * sample[i] + b0 * m1[i] + b1 * d1;
        }
    }

    private void ThirdOrder(int index, ReadOnlySpan<float> sample, Span<float> destination)
    {
        float[] m0 = ModelOutputs[^1]!, m1 = ModelOutputs[^2]!, m2 = ModelOutputs[^3]!;
        var (alphaT, sigmaT) = AlphaSigma(SigmaValues![index + 1]);
        var (alphaS2, sigmaS2) = AlphaSigma(SigmaValues[index - 2]);
        float lambdaT = Lambda(index + 1), lambdaS0 = Lambda(index), lambdaS1 = Lambda(index - 1), lambdaS2 = Lambda(index - 2);
        float h = lambdaT - lambdaS2, h0 = lambdaS0 - lambdaS2, h1 = lambdaS1 - lambdaS2;
        float r0 = h0 / h, r1 = h1 / h;
        var heun = SolverType == "heun";
        float a, b0, b1, b2;
        if (DataPrediction)
        {
            a = sigmaT / sigmaS2;
            b0 = -(alphaT * (MathF.Exp(-h) - 1f));
            b1 = alphaT * ((MathF.Exp(-h) - 1f) / h + 1f);
            b2 = heun ? -(alphaT * ((MathF.Exp(-h) - 1f + h) / (h * h) - 0.5f)) : 0f;
        }
        else
        {
            a = alphaT / alphaS2;
            b0 = -(sigmaT * (MathF.Exp(h) - 1f));
            b1 = -(sigmaT * ((MathF.Exp(h) - 1f) / h - 1f));
            b2 = heun ? -(sigmaT * ((MathF.Exp(h) - 1f - h) / (h * h) - 0.5f)) : 0f;
        }

        float invR0 = 1f / r0, invR1 = 1f / r1;
        for (var i = 0; i < destination.Length; i++)
        {
            var d10 = invR1 * (m1[i] - m2[i]);
            var d11 = invR0 * (m0[i] - m2[i]);
            float slope, curvature = 0f;
            if (heun)
            {
                slope = (r0 * d10 - r1 * d11) / (r0 - r1);
                curvature = 2f * (d11 - d10) / (r0 - r1);
            }
            else
            {
                slope = d11;
            }

            destination[i] = a * sample[i] + b0 * m2[i] + b1 * slope + b2 * curvature;
        }
    }
}
