using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// The k-diffusion samplers ComfyUI's <c>sampler_name</c> selects, over an explicit descending sigma list ending in 0:
/// euler, euler_ancestral, heun, dpm_2, dpm_2_ancestral, lms, dpmpp_2m, lcm and ddim (which ComfyUI runs as euler).
/// Each walks the list once, calls the model one or two times per step and reports every finished step.
/// </summary>
public static class KSamplers
{
    /// <summary>The supported sampler names, in ComfyUI's order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["euler", "euler_ancestral", "heun", "dpm_2", "dpm_2_ancestral", "lms", "dpmpp_2m", "lcm", "ddim"];

    /// <summary>ComfyUI sampler names that exist there but not here; asking for one is an error that says so.</summary>
    public static IReadOnlyList<string> Unsupported { get; } =
    [
        "euler_cfg_pp", "euler_ancestral_cfg_pp", "heunpp2", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp",
        "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm",
        "ipndm", "ipndm_v", "deis", "res_multistep", "gradient_estimation", "er_sde", "seeds_2", "seeds_3", "uni_pc", "uni_pc_bh2",
    ];

    /// <summary>Whether the sampler draws fresh noise each step (and so reads the noise source).</summary>
    /// <param name="name">A sampler name.</param>
    public static bool IsAncestral(string name) => name is "euler_ancestral" or "dpm_2_ancestral" or "lcm";

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
    public static async Task<float[]> SampleAsync(string name, float[] x, IReadOnlyList<float> sigmas, KDenoiser model, INoiseSource? noise,
        Func<int, int, float[], ValueTask>? onStep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(sigmas);
        ArgumentNullException.ThrowIfNull(model);
        if (Check(name) is { } error) throw new ArgumentException(error, nameof(name));
        if (IsAncestral(name) && noise is null) throw new ArgumentException($"sampler '{name}' needs a noise source.", nameof(noise));
        x = (float[])x.Clone();
        var steps = sigmas.Count - 1;
        var history = new List<float[]>();
        float[]? oldDenoised = null;
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
