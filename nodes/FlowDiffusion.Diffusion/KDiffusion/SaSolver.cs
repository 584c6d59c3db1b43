using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// ComfyUI's sa_solver and sa_solver_pece: SA-Solver (Xue et al. 2023, arXiv 2309.05019), a stochastic Adams method on
/// the x₀ estimates over λ = −log σ. Each step evaluates the model once at the predicted state; an Adams–Moulton
/// corrector (from the second step on) redoes the step before with that estimate included, and an Adams–Bashforth
/// predictor steps on from the corrected state. Inside the SDE window each predictor step draws fresh noise, which the
/// corrector reuses; PECE evaluates the corrected state again and steps on with that estimate (one more model call per
/// corrected step). Orders drop near a final sigma of 0, as ComfyUI's.
/// </summary>
internal static class SaSolver
{
    /// <summary>Runs the solver; <paramref name="sdeWindow"/> are the sigmas between which τ = η (ComfyUI's tau_func), elsewhere 0.</summary>
    public static async Task<float[]> SampleAsync(float[] x, IReadOnlyList<float> sigmas, KDenoiser model, INoiseSource? noise, KSamplerParameters parameters,
        bool pece, (double Start, double End) sdeWindow, Func<int, int, float[], ValueTask>? onStep, CancellationToken cancellationToken)
    {
        var steps = sigmas.Count - 1;
        if (steps < 1) return (float[])x.Clone();
        var lambdas = sigmas.Select(s => -Math.Log(s)).ToArray();
        var maxOrder = Math.Max(parameters.PredictorOrder, parameters.CorrectorOrder);
        var sNoise = parameters.SNoise;
        double Tau(double sigma) => parameters.Eta > 0 && sdeWindow.Start >= sigma && sigma >= sdeWindow.End ? parameters.Eta : 0;

        var predicted = (float[])x.Clone();
        var current = predicted;
        double h = 0, tau = 0;
        float[]? stepNoise = null;
        var estimates = new List<float[]>();
        // Near a final sigma of 0 the orders shrink to the steps left, for stability.
        var lowerOrderToEnd = sigmas[^1] == 0;
        for (var i = 0; i < steps; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var denoised = await model(predicted, sigmas[i], cancellationToken);
            estimates.Add(denoised);
            if (estimates.Count > maxOrder) estimates.RemoveAt(0);

            var predictorOrder = Math.Min(parameters.PredictorOrder, estimates.Count);
            var correctorOrder = i == 0 || (sigmas[i + 1] == 0 && !pece) ? 0 : Math.Min(parameters.CorrectorOrder, estimates.Count);
            if (lowerOrderToEnd)
            {
                predictorOrder = Math.Min(predictorOrder, steps - 1 - i);
                correctorOrder = Math.Min(correctorOrder, steps - i);
            }

            if (correctorOrder == 0)
            {
                current = predicted;
            }
            else
            {
                // The step from sigmas[i − 1] again, its Lagrange nodes ending at this step's estimate.
                var b = Coefficients(sigmas[i], lambdas, i - correctorOrder + 1, correctorOrder, lambdas[i - 1], lambdas[i], tau, parameters.SimpleOrder2, corrector: true);
                current = Step(current, sigmas[i] / (double)sigmas[i - 1] * Math.Exp(-tau * tau * h), estimates, b, tau > 0 && sNoise > 0 ? stepNoise : null);
                if (pece)
                {
                    denoised = await model(current, sigmas[i], cancellationToken);
                    estimates[^1] = denoised;
                }
            }

            if (sigmas[i + 1] == 0)
            {
                predicted = denoised;
            }
            else
            {
                tau = Tau(sigmas[i + 1]);
                var b = Coefficients(sigmas[i + 1], lambdas, i - predictorOrder + 1, predictorOrder, lambdas[i], lambdas[i + 1], tau, parameters.SimpleOrder2, corrector: false);
                h = lambdas[i + 1] - lambdas[i];
                stepNoise = null;
                if (tau > 0 && sNoise > 0)
                {
                    stepNoise = new float[x.Length];
                    noise!.FillStandardNormal(stepNoise);
                    var scale = sigmas[i + 1] * Math.Sqrt(-double.ExpM1(-2 * tau * tau * h)) * sNoise;
                    for (var k = 0; k < stepNoise.Length; k++) stepNoise[k] = (float)(stepNoise[k] * scale);
                }

                predicted = Step(current, sigmas[i + 1] / (double)sigmas[i] * Math.Exp(-tau * tau * h), estimates, b, stepNoise);
            }

            if (onStep is not null) await onStep(i + 1, steps, predicted);
        }

        return predicted;
    }

    // decay · x + Σ b_j · (the last b.Length estimates, oldest first) + noise.
    private static float[] Step(float[] x, double decay, List<float[]> estimates, double[] b, float[]? noise)
    {
        var result = new float[x.Length];
        var first = estimates.Count - b.Length;
        for (var k = 0; k < x.Length; k++)
        {
            var sum = decay * x[k];
            for (var j = 0; j < b.Length; j++) sum += b[j] * estimates[first + j][k];
            result[k] = (float)(noise is null ? sum : sum + noise[k]);
        }

        return result;
    }

    /// <summary>
    /// The stochastic Adams weights of the estimates at λ nodes <paramref name="lambdas"/>[first … first + order − 1] for a
    /// step from λ_s to λ_t: α_t (1 + τ²) ∫ e^(−(1 + τ²)(λ_t − λ)) ℓ_j(λ) dλ over [λ_s, λ_t], ℓ_j the Lagrange basis on the
    /// nodes (the integrals of the monomials by parts, then the transposed Vandermonde system); with
    /// <paramref name="simpleOrder2"/> order 2 takes the paper's simplified weights (its Appendix D).
    /// </summary>
    internal static double[] Coefficients(double sigmaNext, IReadOnlyList<double> lambdas, int first, int order, double lambdaS, double lambdaT, double tau,
        bool simpleOrder2, bool corrector)
    {
        var m = 1 + tau * tau;
        var h = lambdaT - lambdaS;
        var alphaT = sigmaNext * Math.Exp(lambdaT);
        var whole = -double.ExpM1(-m * h);
        if (simpleOrder2 && order == 2)
        {
            // Oldest first: the corrector's trapezoid-like split, the predictor's extrapolation from the node before.
            if (corrector) return [alphaT * (whole - 0.5 * m * h), alphaT * 0.5 * m * h];
            var older = alphaT * 0.5 * m * h * h / (lambdas[first] - lambdaS);
            return [older, alphaT * whole - older];
        }

        // m ∫ e^(m (λ − λ_t)) λ^p dλ over [λ_s, λ_t] = λ_t^p − λ_s^p e^(−m h) − (p / m) · the integral for p − 1.
        var moments = new double[order];
        for (var p = 0; p < order; p++)
            moments[p] = Math.Pow(lambdaT, p) - Math.Pow(lambdaS, p) * Math.Exp(-m * h) - (p == 0 ? 0 : p / m * moments[p - 1]);
        var system = new double[order, order];
        for (var p = 0; p < order; p++)
        for (var j = 0; j < order; j++)
            system[p, j] = Math.Pow(lambdas[first + j], p);
        var weights = UniPc.Solve(system, moments, order);
        for (var j = 0; j < order; j++) weights[j] *= alphaT;
        return weights;
    }
}
