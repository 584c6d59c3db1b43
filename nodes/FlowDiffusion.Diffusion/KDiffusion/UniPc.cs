namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// UniPC (Zhao et al. 2023) as ComfyUI runs it for <c>uni_pc</c> (B(h) = h, "bh1") and <c>uni_pc_bh2</c> (B(h) = e^h − 1):
/// multistep, data prediction, order min(3, steps − 1) with lower orders at the start and end, the UniC corrector after
/// every step but the last. It works in variance-preserving terms of the k-diffusion sigmas: α = 1/√(1 + σ²),
/// σ_vp = σ/√(1 + σ²), λ = −log σ; a final sigma of 0 is replaced by 0.001 (ComfyUI's choice), so the result keeps that
/// much noise. One model call per step.
/// </summary>
internal static class UniPc
{
    public static async Task<float[]> SampleAsync(bool bh2, float[] start, IReadOnlyList<float> sigmas, KDenoiser model,
        Func<int, int, float[], ValueTask>? onStep, CancellationToken cancellationToken)
    {
        var steps = sigmas.Count - 1;
        if (steps < 2) throw new ArgumentException($"uni_pc needs at least 2 steps; the schedule has {steps}.");
        var times = new double[sigmas.Count];
        for (var i = 0; i < times.Length; i++) times[i] = sigmas[i];
        if (times[^1] == 0) times[^1] = 0.001;
        var order = Math.Min(3, steps - 1);
        var n = start.Length;

        // x in VP scale; the model sees x·√(1 + σ²) and returns x₀ (its data prediction).
        var x = new double[n];
        var scale0 = 1 / Math.Sqrt(1 + times[0] * times[0]);
        for (var k = 0; k < n; k++) x[k] = start[k] * scale0;

        async Task<double[]> DataPrediction(double[] vp, double t)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var up = Math.Sqrt(1 + t * t);
            var input = new float[n];
            for (var k = 0; k < n; k++) input[k] = (float)(vp[k] * up);
            var denoised = await model(input, (float)t, cancellationToken);
            var result = new double[n];
            for (var k = 0; k < n; k++) result[k] = denoised[k];
            return result;
        }

        var models = new List<double[]> { await DataPrediction(x, times[0]) };
        var previous = new List<double> { times[0] };
        for (var step = 1; step <= steps; step++)
        {
            var t = times[step];
            var stepOrder = step < order ? step : Math.Min(order, steps + 1 - step);
            var useCorrector = step < steps;
            var (next, modelT) = await UpdateAsync(x, models, previous, t, stepOrder, bh2, useCorrector, DataPrediction);
            x = next;
            if (step < steps)
            {
                models.Add(modelT ?? await DataPrediction(x, t));
                previous.Add(t);
                if (models.Count > order)
                {
                    models.RemoveAt(0);
                    previous.RemoveAt(0);
                }
            }

            if (step < steps && onStep is not null) await onStep(step, steps, ToK(x, t));
        }

        return await FinishAsync(x, times[^1], steps, steps, onStep);
    }

    private static async Task<float[]> FinishAsync(double[] x, double t, int step, int steps, Func<int, int, float[], ValueTask>? onStep)
    {
        var result = ToK(x, t);
        if (onStep is not null) await onStep(step, steps, result);
        return result;
    }

    private static float[] ToK(double[] vp, double t)
    {
        var up = Math.Sqrt(1 + t * t);
        var result = new float[vp.Length];
        for (var k = 0; k < vp.Length; k++) result[k] = (float)(vp[k] * up);
        return result;
    }

    // One UniP step from the newest stored point to t (UniC-corrected when asked); returns x_t and the model at x_t.
    private static async Task<(double[] X, double[]? Model)> UpdateAsync(double[] x, List<double[]> models, List<double> times, double t, int order, bool bh2,
        bool useCorrector, Func<double[], double, Task<double[]>> dataPrediction)
    {
        var n = x.Length;
        var tPrev = times[^1];
        var modelPrev = models[^1];
        double lambdaPrev = -Math.Log(tPrev), lambdaT = -Math.Log(t);
        double stdPrev = tPrev / Math.Sqrt(1 + tPrev * tPrev), stdT = t / Math.Sqrt(1 + t * t), alphaT = 1 / Math.Sqrt(1 + t * t);
        var h = lambdaT - lambdaPrev;

        var rks = new double[order];
        var d1s = new List<double[]>();
        for (var i = 1; i < order; i++)
        {
            var rk = (-Math.Log(times[^(i + 1)]) - lambdaPrev) / h;
            rks[i - 1] = rk;
            var model = models[^(i + 1)];
            var d = new double[n];
            for (var k = 0; k < n; k++) d[k] = (model[k] - modelPrev[k]) / rk;
            d1s.Add(d);
        }

        rks[order - 1] = 1;
        var hh = -h; // data prediction
        var hPhi1 = double.ExpM1(hh);
        var hPhiK = hPhi1 / hh - 1;
        var factorial = 1.0;
        var bH = bh2 ? double.ExpM1(hh) : hh;
        var r = new double[order, order];
        var b = new double[order];
        for (var i = 1; i <= order; i++)
        {
            for (var j = 0; j < order; j++) r[i - 1, j] = Math.Pow(rks[j], i - 1);
            b[i - 1] = hPhiK * factorial / bH;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1 / factorial;
        }

        double[]? rhosP = d1s.Count == 0 ? null : order == 2 ? [0.5] : Solve(r, b, order - 1);
        var baseX = new double[n];
        for (var k = 0; k < n; k++) baseX[k] = stdT / stdPrev * x[k] - alphaT * hPhi1 * modelPrev[k];
        var xT = new double[n];
        for (var k = 0; k < n; k++)
        {
            var predicted = 0.0;
            if (rhosP is not null)
                for (var j = 0; j < d1s.Count; j++) predicted += rhosP[j] * d1s[j][k];
            xT[k] = baseX[k] - alphaT * bH * predicted;
        }

        if (!useCorrector) return (xT, null);
        var rhosC = order == 1 ? [0.5] : Solve(r, b, order);
        var modelT = await dataPrediction(xT, t);
        var corrected = new double[n];
        for (var k = 0; k < n; k++)
        {
            var correction = 0.0;
            for (var j = 0; j < d1s.Count; j++) correction += rhosC[j] * d1s[j][k];
            corrected[k] = baseX[k] - alphaT * bH * (correction + rhosC[^1] * (modelT[k] - modelPrev[k]));
        }

        return (corrected, modelT);
    }

    // Solves the leading size×size block of r·ρ = b (Gauss–Jordan with partial pivoting; UniPC's size ≤ 3, SaSolver's ≤ 6).
    internal static double[] Solve(double[,] r, double[] b, int size)
    {
        var a = new double[size, size + 1];
        for (var i = 0; i < size; i++)
        {
            for (var j = 0; j < size; j++) a[i, j] = r[i, j];
            a[i, size] = b[i];
        }

        for (var column = 0; column < size; column++)
        {
            var pivot = column;
            for (var row = column + 1; row < size; row++)
                if (Math.Abs(a[row, column]) > Math.Abs(a[pivot, column])) pivot = row;
            for (var j = 0; j <= size; j++) (a[column, j], a[pivot, j]) = (a[pivot, j], a[column, j]);
            for (var row = 0; row < size; row++)
            {
                if (row == column) continue;
                var factor = a[row, column] / a[column, column];
                for (var j = column; j <= size; j++) a[row, j] -= factor * a[column, j];
            }
        }

        var result = new double[size];
        for (var i = 0; i < size; i++) result[i] = a[i, size] / a[i, i];
        return result;
    }
}
