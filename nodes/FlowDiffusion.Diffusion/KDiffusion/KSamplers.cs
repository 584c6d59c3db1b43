using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// The k-diffusion samplers ComfyUI's <c>sampler_name</c> selects, over an explicit descending sigma list ending in 0:
/// euler, euler_ancestral, heun, dpm_2, dpm_2_ancestral, lms, dpmpp_2m, dpmpp_sde, dpmpp_2m_sde (ComfyUI's midpoint
/// solver; the _gpu names are the same formulas), lcm, ddim (which ComfyUI runs as euler), uni_pc and uni_pc_bh2.
/// Each walks the list once, calls the model one or two times per step and reports every finished step.
/// </summary>
public static class KSamplers
{
    /// <summary>The supported sampler names, in ComfyUI's order.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "euler", "euler_ancestral", "heun", "dpm_2", "dpm_2_ancestral", "lms", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_sde",
        "dpmpp_2m_sde_gpu", "lcm", "ddim", "uni_pc", "uni_pc_bh2",
    ];

    /// <summary>ComfyUI sampler names that exist there but not here; asking for one is an error that says so.</summary>
    public static IReadOnlyList<string> Unsupported { get; } =
    [
        "euler_cfg_pp", "euler_ancestral_cfg_pp", "heunpp2", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp",
        "dpmpp_2m_cfg_pp", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm",
        "ipndm", "ipndm_v", "deis", "res_multistep", "gradient_estimation", "er_sde", "seeds_2", "seeds_3",
    ];

    /// <summary>Whether the sampler draws fresh noise each step (and so reads the noise source).</summary>
    /// <param name="name">A sampler name.</param>
    public static bool IsAncestral(string name) => name is "euler_ancestral" or "dpm_2_ancestral" or "lcm" || IsSde(name);

    /// <summary>Whether the sampler is an SDE solver whose noise ComfyUI draws from a Brownian tree (<see cref="SdeNoise"/>).</summary>
    /// <param name="name">A sampler name.</param>
    public static bool IsSde(string name) => name is "dpmpp_sde" or "dpmpp_sde_gpu" or "dpmpp_2m_sde" or "dpmpp_2m_sde_gpu";

    /// <summary>Checks a sampler name: null when supported, otherwise the message naming it and the valid names.</summary>
    /// <param name="name">The requested <c>sampler_name</c>.</param>
    public static string? Check(string name) =>
        Names.Contains(name) ? null
        : Unsupported.Contains(name) ? $"sampler_name '{name}' is a ComfyUI sampler FlowDiffusion does not implement yet; use one of: {string.Join(", ", Names)}."
        : $"unknown sampler_name '{name}'; valid values: {string.Join(", ", Names)}.";

    /// <summary>Runs sampler <paramref name="name"/> from <paramref name="x"/> down <paramref name="sigmas"/>; returns the final latents.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="x">The starting latents (already noised to <c>sigmas[0]</c>); not modified.</param>
    /// <param name="sigmas">Descending noise levels, N + 1 of them for N steps.</param>
    /// <param name="model">The denoiser.</param>
    /// <param name="noise">Fresh standard normal noise for the ancestral samplers (ComfyUI: a torch generator seeded with the seed).</param>
    /// <param name="onStep">Called after each step with (step, steps, latents).</param>
    /// <param name="cancellationToken">Cancels between model calls.</param>
    /// <param name="sdeNoise">
    /// The SDE samplers' noise per interval (ComfyUI: a <see cref="BrownianTreeNoise"/> seeded with the seed); when null they
    /// take successive draws of <paramref name="noise"/> instead.
    /// </param>
    public static async Task<float[]> SampleAsync(string name, float[] x, IReadOnlyList<float> sigmas, KDenoiser model, INoiseSource? noise,
        Func<int, int, float[], ValueTask>? onStep, CancellationToken cancellationToken, SdeNoise? sdeNoise = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(sigmas);
        ArgumentNullException.ThrowIfNull(model);
        if (Check(name) is { } error) throw new ArgumentException(error, nameof(name));
        if (IsAncestral(name) && noise is null && !(IsSde(name) && sdeNoise is not null)) throw new ArgumentException($"sampler '{name}' needs a noise source.", nameof(noise));
        if (name is "uni_pc" or "uni_pc_bh2") return await UniPc.SampleAsync(name == "uni_pc_bh2", x, sigmas, model, onStep, cancellationToken);
        x = (float[])x.Clone();
        var steps = sigmas.Count - 1;
        var history = new List<float[]>();
        float[]? oldDenoised = null;
        double? lastH = null;
        sdeNoise ??= noise is null ? null : (_, _, destination) => noise.FillStandardNormal(destination);
        for (var i = 0; i < steps; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double sigma = sigmas[i], next = sigmas[i + 1];
            var denoised = await model(x, sigmas[i], cancellationToken);
            switch (name)
            {
                case "euler" or "ddim":
                    AddDerivative(x, denoised, sigma, next - sigma);
                    break;
                case "euler_ancestral":
                {
                    var (down, up) = AncestralStep(sigma, next);
                    AddDerivative(x, denoised, sigma, down - sigma);
                    if (next > 0) AddNoise(x, noise!, up);
                    break;
                }
                case "heun":
                {
                    var d = Derivative(x, denoised, sigma);
                    var dt = next - sigma;
                    if (next == 0)
                    {
                        Axpy(x, d, dt);
                        break;
                    }

                    var x2 = (float[])x.Clone();
                    Axpy(x2, d, dt);
                    var d2 = Derivative(x2, await model(x2, sigmas[i + 1], cancellationToken), next);
                    for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + (d[k] + d2[k]) / 2 * dt);
                    break;
                }
                case "dpm_2":
                    await Dpm2StepAsync(x, denoised, sigma, next, model, cancellationToken);
                    break;
                case "dpm_2_ancestral":
                {
                    var (down, up) = AncestralStep(sigma, next);
                    await Dpm2StepAsync(x, denoised, sigma, down, model, cancellationToken);
                    if (down != 0) AddNoise(x, noise!, up);
                    break;
                }
                case "lms":
                {
                    history.Add(Derivative(x, denoised, sigma));
                    if (history.Count > 4) history.RemoveAt(0);
                    var order = Math.Min(i + 1, 4);
                    for (var j = 0; j < order; j++) Axpy(x, history[^(j + 1)], LmsCoefficient(order, sigmas, i, j));
                    break;
                }
                case "dpmpp_2m":
                {
                    double t = -Math.Log(sigma), tNext = -Math.Log(next), h = tNext - t;
                    var ratio = next / sigma;
                    var weight = -double.ExpM1(-h); // 1 when next is 0
                    if (oldDenoised is null || next == 0)
                    {
                        for (var k = 0; k < x.Length; k++) x[k] = (float)(ratio * x[k] + weight * denoised[k]);
                    }
                    else
                    {
                        var r = (t + Math.Log(sigmas[i - 1])) / h;
                        double a = 1 + 1 / (2 * r), b = 1 / (2 * r);
                        for (var k = 0; k < x.Length; k++) x[k] = (float)(ratio * x[k] + weight * (a * denoised[k] - b * oldDenoised[k]));
                    }

                    oldDenoised = denoised;
                    break;
                }
                case "dpmpp_2m_sde" or "dpmpp_2m_sde_gpu":
                    if (next == 0)
                    {
                        denoised.CopyTo(x, 0);
                        break;
                    }

                    lastH = Dpmpp2mSdeStep(x, denoised, oldDenoised, sigma, next, lastH, sdeNoise!);
                    oldDenoised = denoised;
                    break;
                case "dpmpp_sde" or "dpmpp_sde_gpu":
                    await DpmppSdeStepAsync(x, denoised, sigma, next, model, sdeNoise!, cancellationToken);
                    break;
                case "lcm":
                    denoised.CopyTo(x, 0);
                    if (next > 0) AddNoise(x, noise!, next);
                    break;
            }

            if (onStep is not null) await onStep(i + 1, steps, x);
        }

        return x;
    }

    /// <summary>k-diffusion's ancestral split of a step from σ to σ_next (η = 1): the deterministic target and the noise to add.</summary>
    /// <param name="sigma">The current sigma.</param>
    /// <param name="next">The next sigma.</param>
    public static (double Down, double Up) AncestralStep(double sigma, double next)
    {
        var up = Math.Min(next, Math.Sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma)));
        return (Math.Sqrt(next * next - up * up), up);
    }

    /// <summary>
    /// The linear multistep coefficient ∫ ∏_{k≠j} (τ − σ_{i−k}) / (σ_{i−j} − σ_{i−k}) dτ over [σ_i, σ_{i+1}]: a polynomial of
    /// degree ≤ 3, integrated exactly by 4-point Gauss–Legendre.
    /// </summary>
    /// <param name="order">How many past derivatives (1 to 4).</param>
    /// <param name="sigmas">The schedule.</param>
    /// <param name="i">The current step.</param>
    /// <param name="j">Which past derivative (0 = the current one).</param>
    public static double LmsCoefficient(int order, IReadOnlyList<float> sigmas, int i, int j)
    {
        ReadOnlySpan<double> nodes = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
        ReadOnlySpan<double> weights = [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538];
        double a = sigmas[i], b = sigmas[i + 1], sum = 0;
        for (var n = 0; n < nodes.Length; n++)
        {
            var tau = (b - a) / 2 * nodes[n] + (a + b) / 2;
            var product = 1.0;
            for (var k = 0; k < order; k++)
            {
                if (k == j) continue;
                product *= (tau - sigmas[i - k]) / (sigmas[i - j] - sigmas[i - k]);
            }

            sum += weights[n] * product;
        }

        return sum * (b - a) / 2;
    }

    // DPM-Solver++(2M) SDE, η = 1, midpoint solver (k-diffusion's sample_dpmpp_2m_sde as ComfyUI runs it); returns h.
    private static double Dpmpp2mSdeStep(float[] x, float[] denoised, float[]? oldDenoised, double sigma, double next, double? lastH, SdeNoise noise)
    {
        double h = Math.Log(sigma) - Math.Log(next);
        var decay = next / sigma * Math.Exp(-h);
        var weight = -double.ExpM1(-2 * h);
        var correction = oldDenoised is null || lastH is null ? 0 : 0.5 * weight * h / lastH.Value;
        var fresh = new float[x.Length];
        noise(sigma, next, fresh);
        var spread = next * Math.Sqrt(-double.ExpM1(-2 * h));
        for (var k = 0; k < x.Length; k++)
        {
            var value = decay * x[k] + weight * denoised[k] + spread * fresh[k];
            if (correction != 0) value += correction * (denoised[k] - oldDenoised![k]);
            x[k] = (float)value;
        }

        return h;
    }

    // DPM-Solver++ SDE (k-diffusion's sample_dpmpp_sde, η = 1, r = 1/2): an ancestral half step to σ_s = √(σ·σ_next), a
    // second model call there, then the full step with the blended estimate; the last step to 0 is Euler.
    private static async Task DpmppSdeStepAsync(float[] x, float[] denoised, double sigma, double next, KDenoiser model, SdeNoise noise, CancellationToken cancellationToken)
    {
        if (next == 0)
        {
            AddDerivative(x, denoised, sigma, next - sigma);
            return;
        }

        const double r = 0.5;
        double t = -Math.Log(sigma), h = -Math.Log(next) - t, s = t + h * r, fac = 1 / (2 * r);
        var sigmaS = Math.Exp(-s);
        var fresh = new float[x.Length];

        var (down, up) = AncestralStep(sigma, sigmaS);
        var x2 = new float[x.Length];
        noise(sigma, sigmaS, fresh);
        var ratio = down / sigma;
        var weight = -double.ExpM1(t + Math.Log(down)); // −expm1(t − s_) with s_ = −log σ_down
        for (var k = 0; k < x.Length; k++) x2[k] = (float)(ratio * x[k] + weight * denoised[k] + up * fresh[k]);
        var denoised2 = await model(x2, (float)sigmaS, cancellationToken);

        (down, up) = AncestralStep(sigma, next);
        noise(sigma, next, fresh);
        ratio = down / sigma;
        weight = -double.ExpM1(t + Math.Log(down));
        for (var k = 0; k < x.Length; k++)
        {
            var blended = (1 - fac) * denoised[k] + fac * denoised2[k];
            x[k] = (float)(ratio * x[k] + weight * blended + up * fresh[k]);
        }
    }

    private static async Task Dpm2StepAsync(float[] x, float[] denoised, double sigma, double target, KDenoiser model, CancellationToken cancellationToken)
    {
        var d = Derivative(x, denoised, sigma);
        if (target == 0)
        {
            Axpy(x, d, target - sigma);
            return;
        }

        // The midpoint in log-sigma.
        var mid = (float)Math.Exp(0.5 * (Math.Log(sigma) + Math.Log(target)));
        var x2 = (float[])x.Clone();
        Axpy(x2, d, mid - sigma);
        var d2 = Derivative(x2, await model(x2, mid, cancellationToken), mid);
        Axpy(x, d2, target - sigma);
    }

    private static float[] Derivative(float[] x, float[] denoised, double sigma)
    {
        var d = new float[x.Length];
        for (var k = 0; k < x.Length; k++) d[k] = (float)((x[k] - denoised[k]) / sigma);
        return d;
    }

    private static void AddDerivative(float[] x, float[] denoised, double sigma, double dt)
    {
        for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + (x[k] - denoised[k]) / sigma * dt);
    }

    private static void Axpy(float[] x, float[] d, double scale)
    {
        for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + d[k] * scale);
    }

    private static void AddNoise(float[] x, INoiseSource noise, double scale)
    {
        var fresh = new float[x.Length];
        noise.FillStandardNormal(fresh);
        for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + fresh[k] * scale);
    }
}
