using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>ComfyUI's er_sde step (<see cref="KSamplers"/>).</summary>
internal static class ErSde
{
    // ER-SDE-Solver-3 (Cui et al. 2023, arXiv 2309.06169) as ComfyUI's er_sde runs it on an ε model, where λ = σ and
    // α = 1: the noise scaler f(λ) (ER-SDE's λ (e^(λ^0.3) + 10), the reverse-time SDE's λ^(η + 1), the ODE's λ), the first
    // stage with r = f(λ_t) / f(λ_s), up to max_stage the second and third with the first and second divided differences of
    // the x₀ estimates (their integrals by ComfyUI's 200-point sums), and fresh noise of scale s_noise · √(λ_t² − λ_s² r²),
    // drawn only where the solver adds noise. Returns the first divided difference for the next step's third stage.
    public static float[]? Step(float[] x, float[] denoised, float[]? oldDenoised, float[]? oldDifference, IReadOnlyList<float> sigmas, int i, INoiseSource noise,
        KSamplerParameters parameters)
    {
        var (Scale, sNoise) = NoiseScaler(parameters);
        double from = sigmas[i], to = sigmas[i + 1];
        var r = Scale(to) / Scale(from);
        for (var k = 0; k < x.Length; k++) x[k] = (float)(r * x[k] + (1 - r) * denoised[k]);

        float[]? difference = null;
        var stage = Math.Min(parameters.MaxStage, i + 1);
        if (stage >= 2 && oldDenoised is not null)
        {
            const int points = 200;
            double dt = to - from, step = -dt / points, sum = 0, sumU = 0;
            for (var p = 0; p < points; p++)
            {
                var position = to + p * step;
                sum += 1 / Scale(position);
                sumU += (position - from) / Scale(position);
            }

            sum *= step;
            sumU *= step;
            difference = new float[x.Length];
            var gap = from - (double)sigmas[i - 1];
            var second = dt + sum * Scale(to);
            for (var k = 0; k < x.Length; k++)
            {
                difference[k] = (float)((denoised[k] - (double)oldDenoised[k]) / gap);
                x[k] = (float)(x[k] + second * difference[k]);
            }

            if (stage >= 3 && oldDifference is not null)
            {
                var halfGap = (from - (double)sigmas[i - 2]) / 2;
                var third = dt * dt / 2 + sumU * Scale(to);
                for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + third * ((difference[k] - (double)oldDifference[k]) / halfGap));
            }
        }

        if (sNoise > 0)
        {
            var spread = to * to - from * from * r * r;
            var fresh = new float[x.Length];
            noise.FillStandardNormal(fresh);
            if (spread > 0)
                for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + sNoise * Math.Sqrt(spread) * fresh[k]);
        }

        return difference ?? oldDifference;
    }

    // SamplerER_SDE's solver types: the ODE, and the reverse-time SDE at η 0, add no noise (ComfyUI sets their s_noise to 0).
    private static (Func<double, double> Scale, double SNoise) NoiseScaler(KSamplerParameters parameters)
    {
        if (parameters.ErSdeSolver == "er_sde") return (lambda => lambda * (Math.Exp(Math.Pow(lambda, 0.3)) + 10), parameters.SNoise);
        var power = parameters.ErSdeSolver == "ode" ? 1 : parameters.Eta + 1;
        return (lambda => Math.Pow(lambda, power), power == 1 ? 0 : parameters.SNoise);
    }
}
