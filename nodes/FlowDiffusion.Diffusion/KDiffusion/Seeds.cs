using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>ComfyUI's seeds_2 and seeds_3 step (<see cref="KSamplers"/>).</summary>
internal static class Seeds
{
    // SEEDS-2 / SEEDS-3 (Gonzalez et al. 2023, arXiv 2305.14267), η = 1, as ComfyUI runs them on an ε model (λ = −log σ,
    // α = 1): intermediate model calls at λ + r·h for each stage fraction r (½; or ⅓ and ⅔), exponential-integrator
    // weights φ₁, φ₂ of −2h, and SDE noise carried from stage to stage: decayed by e^{(r_prev − r)h} and topped up with a
    // fresh draw of scale √(1 − e^{2 (r_prev − r) h}).
    public static async Task StepAsync(float[] x, float[] denoised, double sigma, double next, double[] stages, KDenoiser model, INoiseSource noise, CancellationToken cancellationToken)
    {
        static double Phi1(double v) => double.ExpM1(v);
        static double Phi2(double v) => (double.ExpM1(v) - v) / v;
        double lambdaS = -Math.Log(sigma), h = -Math.Log(next) - lambdaS;
        var carried = new double[x.Length];
        var fresh = new float[x.Length];
        float[]? secondDenoised = null;
        double previousR = 0;
        var estimates = new List<float[]> { denoised };
        foreach (var r in stages)
        {
            var sigmaR = Math.Exp(-(lambdaS + r * h));
            var decay = sigmaR / sigma * Math.Exp(-r * h);
            var stageX = new float[x.Length];
            // SEEDS-3's second stage weighs the first two estimates; every first stage uses the step's own.
            double w1 = -Phi1(-r * 2 * h), w2 = 0;
            if (estimates.Count == 2)
            {
                var a2 = r / stages[0] * Phi2(-r * 2 * h);
                (w1, w2) = (-(Phi1(-r * 2 * h) - a2), -a2);
            }

            noise.FillStandardNormal(fresh);
            var segment = (previousR - r) * h;
            var topUp = previousR == 0 ? Math.Sqrt(-double.ExpM1(-2 * r * h)) : Math.Sqrt(-double.ExpM1(2 * segment));
            var keep = previousR == 0 ? 0 : Math.Exp(segment);
            for (var k = 0; k < x.Length; k++)
            {
                carried[k] = carried[k] * keep + topUp * fresh[k];
                var value = decay * x[k] + w1 * estimates[0][k] + (w2 != 0 ? w2 * estimates[1][k] : 0);
                stageX[k] = (float)(value + carried[k] * sigmaR);
            }

            secondDenoised = await model(stageX, (float)sigmaR, cancellationToken);
            estimates.Add(secondDenoised);
            previousR = r;
        }

        // The full step: SEEDS-2 with the midpoint's estimate alone (fac = 1), SEEDS-3 with φ₂/r₂ on the last estimate.
        double finalDecay = next / sigma * Math.Exp(-h), b1, b3;
        if (stages.Length == 1) (b1, b3) = (0, -Phi1(-2 * h));
        else
        {
            var b = Phi2(-2 * h) / stages[^1];
            (b1, b3) = (-(Phi1(-2 * h) - b), -b);
        }

        noise.FillStandardNormal(fresh);
        var last = (previousR - 1) * h;
        double keepLast = Math.Exp(last), topUpLast = Math.Sqrt(-double.ExpM1(2 * last));
        for (var k = 0; k < x.Length; k++)
        {
            carried[k] = carried[k] * keepLast + topUpLast * fresh[k];
            x[k] = (float)(finalDecay * x[k] + b1 * denoised[k] + b3 * secondDenoised![k] + carried[k] * next);
        }
    }
}
