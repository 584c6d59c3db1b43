using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// UniPC (Zhao et al. 2023): a multistep predictor (UniP) and a corrector (UniC) that reuses the model evaluation
/// of the next step; diffusers <c>UniPCMultistepScheduler</c> with the B(h) variants bh1 and bh2.
/// </summary>
public sealed class UniPcScheduler : ExponentialIntegratorScheduler
{
    private float[]? lastSample;
    private float[]? corrected;
    private float[]? correctedSample;
    private int thisOrder;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="config">The configuration; absent keys take diffusers' defaults (bh2, order 2, predict_x0, lower_order_final).</param>
    public UniPcScheduler(SchedulerConfig config) : base("unipc", config, ZeroSnrSupport.ClampTerminal)
    {
        SolverType = config.SolverType switch
        {
            null or "bh2" or "midpoint" or "heun" or "logrho" => "bh2",
            "bh1" => "bh1",
            var s => throw new ArgumentException($"unipc: unknown solver_type '{s}'. Valid values: bh1, bh2."),
        };
        FinalSigmasType = config.FinalSigmasType ?? "zero";
        DisabledCorrector = config.DisableCorrector ?? [];
    }

    /// <summary>bh1 or bh2: the B(h) of the UniPC update.</summary>
    public string SolverType { get; }

    /// <summary>zero or sigma_min.</summary>
    public string FinalSigmasType { get; }

    /// <summary>Steps whose corrector is skipped.</summary>
    public IReadOnlyList<int> DisabledCorrector { get; }

    private bool PredictX0 => Config.PredictX0 ?? true;

    /// <inheritdoc />
    public override void SetTimesteps(int steps)
    {
        // As DPM-Solver: Karras sigmas end at final_sigmas_type (0 by default).
        BuildSchedule(steps, TrainSteps, FinalSigma(FinalSigmasType), karrasRepeatsLast: false);
        lastSample = null;
        thisOrder = 0;
    }

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise)
    {
        var index = EnsureStepIndex(timestep);
        var length = sample.Length;
        var useCorrector = index > 0 && !DisabledCorrector.Contains(index - 1) && lastSample is not null;
        var target = PredictX0 ? SolverTarget.Data : SolverTarget.Noise;

        if (useCorrector)
        {
            // The new evaluation corrects the previous prediction before it moves on.
            var converted = Scratch(ref corrected, length);
            Convert(modelOutput, sample, SigmaValues![index], target, converted);
            var next = Scratch(ref correctedSample, length);
            Corrector(index, converted, lastSample!, next);
            PushConvertedOutput(modelOutput, sample, index, target);
            next.CopyTo(Scratch(ref lastSample, length));
        }
        else
        {
            PushConvertedOutput(modelOutput, sample, index, target);
            sample.CopyTo(Scratch(ref lastSample, length));
        }

        var order = (Config.LowerOrderFinal ?? true) ? Math.Min(SolverOrder, TimestepValues.Length - index) : SolverOrder;
        thisOrder = Math.Min(order, LowerOrderSteps + 1);
        Predictor(index, lastSample!, thisOrder, previousSample);
        if (LowerOrderSteps < SolverOrder) LowerOrderSteps++;
        StepIndex = index + 1;
    }

    // UniP: x_t = σ_t/σ_s0·x − α_t·h_φ1·m0 − α_t·B(h)·Σ ρ_k·D_k (data form; the ε form swaps α and σ).
    private void Predictor(int index, ReadOnlySpan<float> x, int order, Span<float> destination) =>
        Update(index, order, x, ReadOnlySpan<float>.Empty, destination);

    // UniC: the same expansion over the previous interval, with the fresh model output m_t as the last difference.
    private void Corrector(int index, ReadOnlySpan<float> modelT, ReadOnlySpan<float> x, Span<float> destination) =>
        Update(index - 1, thisOrder, x, modelT, destination);

    private void Update(int source, int order, ReadOnlySpan<float> x, ReadOnlySpan<float> fresh, Span<float> destination)
    {
        var corrector = !fresh.IsEmpty;
        var (alphaT, sigmaT) = AlphaSigma(SigmaValues![source + 1]);
        var (alphaS0, sigmaS0) = AlphaSigma(SigmaValues[source]);
        var h = Lambda(source + 1) - Lambda(source);
        var (_, hPhi1, bh, b, rks) = Terms(h, source, order, i => source - i);

        // Order 2 (predictor) and 1 (corrector) use UniPC's simplified ρ = ½.
        float[] rho = (corrector, order) switch
        {
            (false, 1) => [],
            (false, 2) or (true, 1) => [0.5f],
            (false, _) => Solve(rks, b, order - 1),
            _ => Solve(rks, b, order),
        };

        var m0 = ModelOutputs[^1]!;
        float scale, direct, correction;
        if (PredictX0) (scale, direct, correction) = (sigmaT / sigmaS0, alphaT * hPhi1, alphaT * bh);
        else (scale, direct, correction) = (alphaT / alphaS0, sigmaT * hPhi1, sigmaT * bh);

        for (var i = 0; i < destination.Length; i++)
        {
            var res = 0f;
            for (var k = 1; k < order; k++) res += rho[k - 1] * ((ModelOutputs[^(k + 1)]![i] - m0[i]) / rks[k - 1]);
            if (corrector) res += rho[^1] * (fresh[i] - m0[i]);
            destination[i] = scale * x[i] - direct * m0[i] - correction * res;
        }
    }

    private (float Hh, float HPhi1, float Bh, float[] B, float[] Rks) Terms(float h, int sourceIndex, int order, Func<int, int> pastIndex)
    {
        var lambdaS0 = Lambda(sourceIndex);
        var rks = new float[order];
        for (var i = 1; i < order; i++) rks[i - 1] = (Lambda(pastIndex(i)) - lambdaS0) / h;
        rks[order - 1] = 1f;

        var hh = PredictX0 ? -h : h;
        var hPhi1 = ExpM1(hh);
        var hPhiK = hPhi1 / hh - 1f;
        var factorial = 1f;
        var bh = SolverType == "bh1" ? hh : ExpM1(hh);
        var b = new float[order];
        for (var i = 1; i <= order; i++)
        {
            b[i - 1] = hPhiK * factorial / bh;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1f / factorial;
        }

        return (hh, hPhi1, bh, b, rks);
    }

    private static float ExpM1(float x) => (float)(Math.Exp(x) - 1.0);

    // Solves R·ρ = b for the top-left n×n block of R[i][k] = rks[k]^i (Gaussian elimination with partial pivoting).
    private static float[] Solve(float[] rks, float[] b, int n)
    {
        var m = new double[n, n + 1];
        for (var i = 0; i < n; i++)
        {
            for (var k = 0; k < n; k++) m[i, k] = Math.Pow(rks[k], i);
            m[i, n] = b[i];
        }

        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < n; r++) if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col])) pivot = r;
            for (var k = 0; k <= n; k++) (m[col, k], m[pivot, k]) = (m[pivot, k], m[col, k]);
            for (var r = 0; r < n; r++)
            {
                if (r == col) continue;
                var f = m[r, col] / m[col, col];
                for (var k = col; k <= n; k++) m[r, k] -= f * m[col, k];
            }
        }

        var x = new float[n];
        for (var i = 0; i < n; i++) x[i] = (float)(m[i, n] / m[i, i]);
        return x;
    }
}
