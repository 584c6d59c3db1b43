using System.Globalization;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// DPM-Solver (Lu et al. 2022, arXiv 2206.00927) as ComfyUI runs it for <c>dpm_fast</c> and <c>dpm_adaptive</c>: noise
/// prediction ε = (x − x₀)/σ in λ = −log σ, single-step solvers of order 1, 2 and 3 (r₁ = ⅓, r₂ = ⅔), from σ_max =
/// sigmas[0] to σ_min = the last sigma, or the one before it when the last is 0. So the result keeps σ_min's noise, as in
/// ComfyUI; the schedule's inner sigmas are not visited. η above 0 steps to the ancestral σ_down and adds σ_up of fresh
/// noise (times s_noise) after each accepted step.
/// </summary>
internal static class DpmSolver
{
    /// <summary>
    /// The most tries (accepted and rejected steps) dpm_adaptive makes before it gives up: 3000 model evaluations at order 3.
    /// ComfyUI has no bound, and settings that never converge (a tiny h_init, rtol and atol near 0) run it forever.
    /// </summary>
    public const int MaxAdaptiveTries = 1000;

    // ComfyUI's loop ends this close to λ_end.
    private const double EndTolerance = 1e-5;

    /// <summary>
    /// dpm_fast: n = sigmas − 1 model evaluations over ⌊n/3⌋ + 1 even steps in λ, third order each but the last, which
    /// takes the rest (n mod 3), or the last two orders 2 and 1 when n divides by 3. Reports the evaluations made of n.
    /// </summary>
    public static async Task<float[]> FastAsync(float[] start, IReadOnlyList<float> sigmas, KDenoiser model, INoiseSource? noise, double eta, double sNoise,
        Func<int, int, float[], ValueTask>? onStep, CancellationToken cancellationToken)
    {
        if (sigmas.Count < 2) return (float[])start.Clone();
        var (lambda0, lambdaEnd) = Bounds("dpm_fast", sigmas, eta);
        var n = sigmas.Count - 1;
        var intervals = n / 3 + 1;
        var orders = Enumerable.Repeat(3, intervals - (n % 3 == 0 ? 2 : 1)).Concat(n % 3 == 0 ? [2, 1] : [n % 3]).ToArray();
        var solver = new Stepper(model, start.Length, cancellationToken);
        var x = ToDouble(start);
        for (var i = 0; i < orders.Length; i++)
        {
            double lambda = Grid(lambda0, lambdaEnd, intervals, i), next = Grid(lambda0, lambdaEnd, intervals, i + 1);
            var (target, up) = eta != 0 ? AncestralTarget(lambda, next, lambdaEnd, eta) : (next, 0.0);
            var eps = await solver.EpsAsync(x, lambda);
            x = (await solver.StepAsync(x, lambda, target, orders[i], eps, r1: orders[i] == 2 ? 0.5 : 1 / 3.0)).X;
            if (eta != 0) AddNoise(x, noise!, up * sNoise);
            if (onStep is not null) await onStep(solver.Evaluations, n, ToFloat(x));
        }

        return ToFloat(x);
    }

    /// <summary>
    /// dpm_adaptive: from each point an embedded pair (orders 1 and 2, or 2 with r₁ = ⅓ and 3, sharing their evaluations:
    /// order evaluations per try) whose scaled RMS difference drives a PID controller on the step h (the factor limited to
    /// 1 + atan(f − 1), accepted at accept_safety or above). Reports, after each accepted step that passes one, how many of
    /// the schedule's sigmas the solver has passed, of sigmas − 1, and the last when it reaches σ_min.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tries exceed <see cref="MaxAdaptiveTries"/>, or the error estimate is not a number.</exception>
    public static async Task<float[]> AdaptiveAsync(float[] start, IReadOnlyList<float> sigmas, KDenoiser model, INoiseSource? noise, KSamplerParameters parameters,
        Func<int, int, float[], ValueTask>? onStep, CancellationToken cancellationToken)
    {
        if (sigmas.Count < 2) return (float[])start.Clone();
        var (eta, sNoise, order) = (parameters.DpmEta, parameters.SNoise, parameters.AdaptiveOrder);
        var (lambda, lambdaEnd) = Bounds("dpm_adaptive", sigmas, eta);
        var steps = sigmas.Count - 1;
        var solver = new Stepper(model, start.Length, cancellationToken);
        var controller = new StepSizeController(parameters, eta != 0 ? 1.5 : order);
        var x = ToDouble(start);
        var previousLow = x;
        var (tries, accepted, passed) = (0, 0, 0);
        // Rising sigmas (unsampling) run backwards in λ, h negative, as ComfyUI's reverse sampling.
        var forward = lambdaEnd > lambda;
        while (forward ? lambda < lambdaEnd - EndTolerance : lambda > lambdaEnd + EndTolerance)
        {
            if (tries == MaxAdaptiveTries)
                throw new InvalidOperationException($"dpm_adaptive stopped after {tries} tries ({accepted} accepted, {solver.Evaluations} model evaluations) at sigma "
                    + $"{Show(Math.Exp(-lambda))} of {Show(Math.Exp(-lambdaEnd))}: its error control never lets it finish; raise rtol or atol, or lower accept_safety.");
            tries++;
            var next = forward ? Math.Min(lambdaEnd, lambda + controller.H) : Math.Max(lambdaEnd, lambda - controller.H);
            var (target, up) = eta != 0 ? AncestralTarget(lambda, next, lambdaEnd, eta) : (next, 0.0);
            var eps = await solver.EpsAsync(x, lambda);
            double[] low, high;
            if (order == 2)
            {
                low = (await solver.StepAsync(x, lambda, target, 1, eps, 0.5)).X;
                high = (await solver.StepAsync(x, lambda, target, 2, eps, 0.5)).X;
            }
            else
            {
                var second = await solver.StepAsync(x, lambda, target, 2, eps, 1 / 3.0);
                low = second.X;
                high = (await solver.StepAsync(x, lambda, target, 3, eps, 1 / 3.0, second.EpsR1)).X;
            }

            var error = ScaledError(low, high, previousLow, parameters.Rtol, parameters.Atol);
            if (double.IsNaN(error))
                throw new InvalidOperationException($"dpm_adaptive's error estimate is not a number at sigma {Show(Math.Exp(-lambda))} (the model returned NaN, or atol 0 met a latent of 0); set atol above 0.");
            if (!controller.Propose(error)) continue;
            previousLow = low;
            x = high;
            if (eta != 0) AddNoise(x, noise!, up * sNoise);
            lambda = next;
            accepted++;
            var now = Passed(sigmas, Math.Exp(-lambda), forward);
            if (now > passed && now < steps && onStep is not null) await onStep(now, steps, ToFloat(x));
            passed = Math.Max(passed, now);
        }

        if (onStep is not null) await onStep(steps, steps, ToFloat(x));
        return ToFloat(x);
    }

    // λ at σ_max and σ_min, checked as ComfyUI checks them.
    private static (double Start, double End) Bounds(string name, IReadOnlyList<float> sigmas, double eta)
    {
        double high = sigmas[0], low = sigmas[^1] > 0 ? sigmas[^1] : sigmas[^2];
        if (!(low > 0 && high > 0)) throw new ArgumentException($"{name} needs sigmas above 0 to run between; these start at {Show(high)} and end at {Show(low)} before 0.");
        double start = -Math.Log(high), end = -Math.Log(low);
        if (eta != 0 && !(end > start))
            throw new ArgumentException($"{name} with eta {Show(eta)} needs a schedule that falls from its first sigma to a lower one before 0 (these run from {Show(high)} to {Show(low)}); use eta 0 or more steps.");
        return (start, end);
    }

    // Point i of intervals + 1 evenly spaced from a to b.
    private static double Grid(double a, double b, int intervals, int i) => i == intervals ? b : a + (b - a) / intervals * i;

    // The ancestral split of the step from σ(λ) to σ(λ_next): the deterministic target at σ_down (no further than λ_end)
    // and the fresh noise σ_up that brings it back to σ(λ_next).
    private static (double Target, double Up) AncestralTarget(double lambda, double next, double lambdaEnd, double eta)
    {
        var (down, _) = KSamplers.AncestralStep(Math.Exp(-lambda), Math.Exp(-next), eta);
        var target = down > 0 ? Math.Min(lambdaEnd, -Math.Log(down)) : lambdaEnd;
        var sigmaNext = Math.Exp(-next);
        var sigmaTarget = Math.Exp(-target);
        return (target, Math.Sqrt(Math.Max(sigmaNext * sigmaNext - sigmaTarget * sigmaTarget, 0)));
    }

    // ‖(low − high) / max(atol, rtol · max(|low|, |previous low|))‖₂ / √n.
    private static double ScaledError(double[] low, double[] high, double[] previousLow, double rtol, double atol)
    {
        var sum = 0.0;
        for (var k = 0; k < low.Length; k++)
        {
            var scale = Math.Max(atol, rtol * Math.Max(Math.Abs(low[k]), Math.Abs(previousLow[k])));
            var scaled = (low[k] - high[k]) / scale;
            sum += scaled * scaled;
        }

        return Math.Sqrt(sum / low.Length);
    }

    // How many of sigmas[1..] the solver at σ has reached (a relative 1e-6 for float rounding).
    private static int Passed(IReadOnlyList<float> sigmas, double sigma, bool falling)
    {
        var count = 0;
        for (var i = 1; i < sigmas.Count && (falling ? sigmas[i] >= sigma * (1 - 1e-6) : sigmas[i] <= sigma * (1 + 1e-6)); i++) count++;
        return count;
    }

    private static void AddNoise(double[] x, INoiseSource noise, double scale)
    {
        var fresh = new float[x.Length];
        noise.FillStandardNormal(fresh);
        for (var k = 0; k < x.Length; k++) x[k] += scale * fresh[k];
    }

    private static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);

    private static float[] ToFloat(double[] values) => Array.ConvertAll(values, v => (float)v);

    private static string Show(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    // The single-step DPM-Solvers from x at λ to λ_next, h = λ_next − λ, with ε at λ given:
    //   order 1: x − σ_next (eʰ − 1) ε
    //   order 2: u₁ = x − σ(s₁)(e^{r₁h} − 1) ε at s₁ = λ + r₁h; order 1 − σ_next / 2r₁ · (eʰ − 1)(ε₁ − ε)
    //   order 3: u₂ = x − σ(s₂)(e^{r₂h} − 1) ε − σ(s₂) r₂/r₁ ((e^{r₂h} − 1)/r₂h − 1)(ε₁ − ε); order 1 − σ_next / r₂ · ((eʰ − 1)/h − 1)(ε₂ − ε)
    private sealed class Stepper(KDenoiser model, int length, CancellationToken cancellationToken)
    {
        public int Evaluations { get; private set; }

        public async Task<double[]> EpsAsync(double[] x, double lambda)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sigma = Math.Exp(-lambda);
            var input = ToFloat(x);
            var denoised = await model(input, (float)sigma, cancellationToken);
            Evaluations++;
            var eps = new double[length];
            for (var k = 0; k < length; k++) eps[k] = (x[k] - denoised[k]) / sigma;
            return eps;
        }

        // Returns the solution and ε at s₁, which a third-order step with the same r₁ reuses (epsR1).
        public async Task<(double[] X, double[]? EpsR1)> StepAsync(double[] x, double lambda, double next, int order, double[] eps, double r1, double[]? epsR1 = null)
        {
            var h = next - lambda;
            var sigmaNext = Math.Exp(-next);
            var result = new double[length];
            var first = sigmaNext * double.ExpM1(h);
            for (var k = 0; k < length; k++) result[k] = x[k] - first * eps[k];
            if (order == 1) return (result, null);

            var s1 = lambda + r1 * h;
            if (epsR1 is null)
            {
                var u1 = new double[length];
                var toS1 = Math.Exp(-s1) * double.ExpM1(r1 * h);
                for (var k = 0; k < length; k++) u1[k] = x[k] - toS1 * eps[k];
                epsR1 = await EpsAsync(u1, s1);
            }

            if (order == 2)
            {
                var weight = sigmaNext / (2 * r1) * double.ExpM1(h);
                for (var k = 0; k < length; k++) result[k] -= weight * (epsR1[k] - eps[k]);
                return (result, epsR1);
            }

            const double r2 = 2 / 3.0;
            var s2 = lambda + r2 * h;
            double sigmaS2 = Math.Exp(-s2), growth = double.ExpM1(r2 * h);
            double toS2 = sigmaS2 * growth, correction = sigmaS2 * (r2 / r1) * (growth / (r2 * h) - 1);
            var u2 = new double[length];
            for (var k = 0; k < length; k++) u2[k] = x[k] - toS2 * eps[k] - correction * (epsR1[k] - eps[k]);
            var epsR2 = await EpsAsync(u2, s2);
            var third = sigmaNext / r2 * (double.ExpM1(h) / h - 1);
            for (var k = 0; k < length; k++) result[k] -= third * (epsR2[k] - eps[k]);
            return (result, epsR1);
        }
    }

    // A PID controller on the step size (Söderlind's digital filter, as k-diffusion's PIDStepSizeController): the factor
    // ∏ (1/eᵢ)^{bᵢ} over the last three accepted errors with b₁ = (p + i + d)/k, b₂ = −(p + 2d)/k, b₃ = d/k, limited to
    // 1 + atan(f − 1); a try is accepted when the factor reaches accept_safety, and h is scaled by it either way.
    private sealed class StepSizeController(KSamplerParameters parameters, double exponent)
    {
        private const double Floor = 1e-8;
        private readonly double b1 = (parameters.Pcoeff + parameters.Icoeff + parameters.Dcoeff) / exponent;
        private readonly double b2 = -(parameters.Pcoeff + 2 * parameters.Dcoeff) / exponent;
        private readonly double b3 = parameters.Dcoeff / exponent;
        private double[]? inverseErrors;

        public double H { get; private set; } = parameters.HInit;

        public bool Propose(double error)
        {
            var inverse = 1 / (error + Floor);
            inverseErrors ??= [inverse, inverse, inverse];
            inverseErrors[0] = inverse;
            var factor = Math.Pow(inverseErrors[0], b1) * Math.Pow(inverseErrors[1], b2) * Math.Pow(inverseErrors[2], b3);
            factor = 1 + Math.Atan(factor - 1);
            var accept = factor >= parameters.AcceptSafety;
            if (accept) (inverseErrors[2], inverseErrors[1]) = (inverseErrors[1], inverseErrors[0]);
            H *= factor;
            return accept;
        }
    }
}
