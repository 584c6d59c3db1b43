using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// The k-diffusion samplers ComfyUI's <c>sampler_name</c> selects, over an explicit descending sigma list ending in 0:
/// euler, euler_ancestral, heun, dpm_2, dpm_2_ancestral, lms, dpm_fast, dpm_adaptive, dpmpp_2s_ancestral, dpmpp_sde, dpmpp_2m, dpmpp_2m_sde
/// (midpoint and heun solvers), dpmpp_3m_sde (the _gpu names are the same formulas), ddpm, lcm, ipndm, ipndm_v,
/// res_multistep, res_multistep_ancestral, heunpp2, gradient_estimation, deis, er_sde, seeds_2, seeds_3, sa_solver and sa_solver_pece
/// (<see cref="SaSolver"/>; sa_solver_pece evaluates each corrected state again), ddim (which ComfyUI runs as euler), uni_pc and uni_pc_bh2. The CFG++ samplers (the _cfg_pp names) also step with the unconditional estimate
/// and run through <see cref="CfgPlusPlus"/>.
/// Each walks the list once, calls the model one or two times per step and reports every finished step. η, s_noise, r,
/// the 2M SDE solver and the lms order are <see cref="KSamplerParameters"/>, k-diffusion's defaults unless given.
/// dpm_fast and dpm_adaptive (<see cref="DpmSolver"/>) are the exceptions, as in ComfyUI: they solve from the first sigma to
/// the last above 0 on their own steps in log σ, dpm_fast with sigmas − 1 model evaluations (reported as evaluations
/// made of that many), dpm_adaptive with as many as its error control asks (at most <see cref="DpmSolver.MaxAdaptiveTries"/>
/// tries; reported as the schedule's sigmas it has passed).
/// </summary>
public static class KSamplers
{
    /// <summary>The supported sampler names, in ComfyUI's order.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
        "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun",
        "dpmpp_2m_sde_heun_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm", "ipndm_v", "res_multistep", "res_multistep_cfg_pp",
        "res_multistep_ancestral", "res_multistep_ancestral_cfg_pp", "gradient_estimation", "gradient_estimation_cfg_pp", "deis", "er_sde", "seeds_2",
        "seeds_3", "sa_solver", "sa_solver_pece", "ddim", "uni_pc", "uni_pc_bh2",
    ];

    /// <summary>ComfyUI sampler names that exist there but not here; asking for one is an error that says so.</summary>
    public static IReadOnlyList<string> Unsupported { get; } = [];

    /// <summary>Whether the sampler draws fresh noise each step (and so reads the noise source).</summary>
    /// <param name="name">A sampler name.</param>
    public static bool IsAncestral(string name) => name is "euler_ancestral" or "dpm_2_ancestral" or "dpmpp_2s_ancestral" or "ddpm" or "lcm" or "res_multistep_ancestral"
        or "er_sde" or "seeds_2" or "seeds_3" or "sa_solver" or "sa_solver_pece" or "euler_ancestral_cfg_pp" or "dpmpp_2s_ancestral_cfg_pp" or "res_multistep_ancestral_cfg_pp" || IsSde(name);

    /// <summary>
    /// Whether the sampler is a CFG++ one, which steps with the unconditional estimate as well as the guided one and runs
    /// through <see cref="CfgPlusPlus.SampleAsync"/> rather than <see cref="SampleAsync"/>.
    /// </summary>
    /// <param name="name">A sampler name.</param>
    public static bool IsCfgPlusPlus(string name) => CfgPlusPlus.Names.Contains(name);

    /// <summary>Whether the sampler is an SDE solver whose noise ComfyUI draws from a Brownian tree (<see cref="SdeNoise"/>).</summary>
    /// <param name="name">A sampler name.</param>
    public static bool IsSde(string name) => name is "dpmpp_sde" or "dpmpp_sde_gpu" or "dpmpp_2m_sde" or "dpmpp_2m_sde_gpu" or "dpmpp_2m_sde_heun"
        or "dpmpp_2m_sde_heun_gpu" or "dpmpp_3m_sde" or "dpmpp_3m_sde_gpu";

    /// <summary>
    /// Whether ComfyUI's KSampler computes this sampler's schedule for one step more and drops the sigma before the last
    /// (dpm_2, dpm_2_ancestral, uni_pc, uni_pc_bh2); explicit sigmas (SamplerCustom's) are used as given.
    /// </summary>
    /// <param name="name">A sampler name.</param>
    public static bool DiscardsPenultimateSigma(string name) => name is "dpm_2" or "dpm_2_ancestral" or "uni_pc" or "uni_pc_bh2";

    /// <summary>Checks a sampler name: null when supported, otherwise the message naming it and the valid names.</summary>
    /// <param name="name">The requested <c>sampler_name</c>.</param>
    public static string? Check(string name) =>
        Names.Contains(name) ? null
        : Unsupported.Contains(name) ? $"sampler_name '{name}' is a ComfyUI sampler FlowDiffusion does not implement yet; use one of: {string.Join(", ", Names)}."
        : $"unknown sampler_name '{name}'; valid values: {string.Join(", ", Names)}.";

    /// <summary>Runs sampler <paramref name="name"/> from <paramref name="x"/> down <paramref name="sigmas"/>; returns the final latents.</summary>
    /// <param name="name">One of <see cref="Names"/> other than the CFG++ ones (<see cref="IsCfgPlusPlus"/>).</param>
    /// <param name="x">The starting latents (already noised to <c>sigmas[0]</c>); not modified.</param>
    /// <param name="sigmas">
    /// Descending noise levels, N + 1 of them for N steps; or rising ones (unsampling) for the samplers
    /// <see cref="RisingSigmas.Check"/> lets walk them.
    /// </param>
    /// <param name="model">The denoiser.</param>
    /// <param name="noise">Fresh standard normal noise for the ancestral samplers (ComfyUI: a torch generator seeded with the seed).</param>
    /// <param name="onStep">Called after each step with (step, steps, latents).</param>
    /// <param name="cancellationToken">Cancels between model calls.</param>
    /// <param name="sdeNoise">
    /// The SDE samplers' noise per interval (ComfyUI: a <see cref="BrownianTreeNoise"/> seeded with the seed); when null they
    /// take successive draws of <paramref name="noise"/> instead.
    /// </param>
    /// <param name="parameters">η, s_noise, r, the 2M SDE solver and the lms order; null for k-diffusion's defaults.</param>
    /// <param name="modelSampling">
    /// The model's noise schedule, which places sa_solver's SDE window (its start and end percent, ComfyUI's
    /// <c>percent_to_sigma</c>); sa_solver with η above 0 needs it, the other samplers ignore it.
    /// </param>
    public static async Task<float[]> SampleAsync(string name, float[] x, IReadOnlyList<float> sigmas, KDenoiser model, INoiseSource? noise,
        Func<int, int, float[], ValueTask>? onStep, CancellationToken cancellationToken, SdeNoise? sdeNoise = null, KSamplerParameters? parameters = null,
        IModelSampling? modelSampling = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(sigmas);
        ArgumentNullException.ThrowIfNull(model);
        if (Check(name) is { } error) throw new ArgumentException(error, nameof(name));
        if (IsCfgPlusPlus(name))
            throw new ArgumentException($"sampler '{name}' steps with the unconditional estimate as well as the guided one; run it with CfgPlusPlus.SampleAsync and a KCfgDenoiser.", nameof(name));
        parameters ??= KSamplerParameters.Default;
        if (parameters.Check(name) is { } invalid) throw new ArgumentException(invalid, nameof(parameters));
        var (eta, sNoise) = (parameters.Eta, parameters.SNoise);
        if (IsAncestral(name) && noise is null && !(IsSde(name) && sdeNoise is not null)) throw new ArgumentException($"sampler '{name}' needs a noise source.", nameof(noise));
        if (RisingSigmas.Are(sigmas) && RisingSigmas.Check(name, parameters) is { } rising) throw new ArgumentException(rising, nameof(sigmas));
        if (name is "sa_solver" or "sa_solver_pece")
        {
            if (parameters.Eta > 0 && modelSampling is null)
                throw new ArgumentException($"sampler '{name}' with eta above 0 needs the model's sampling to place its SDE window (sde_start_percent, sde_end_percent).", nameof(modelSampling));
            var window = modelSampling is null ? (0, 0) : (modelSampling.PercentToSigma(parameters.SdeStartPercent), modelSampling.PercentToSigma(parameters.SdeEndPercent));
            return await SaSolver.SampleAsync(x, sigmas, model, noise, parameters, pece: name == "sa_solver_pece" || parameters.UsePece, window, onStep, cancellationToken);
        }

        if (name is "uni_pc" or "uni_pc_bh2") return await UniPc.SampleAsync(name == "uni_pc_bh2", x, sigmas, model, onStep, cancellationToken);
        if (name is "dpm_fast" or "dpm_adaptive")
        {
            if (parameters.DpmEta != 0 && noise is null) throw new ArgumentException($"sampler '{name}' with dpm_eta above 0 needs a noise source.", nameof(noise));
            return name == "dpm_fast"
                ? await DpmSolver.FastAsync(x, sigmas, model, noise, parameters.DpmEta, sNoise, onStep, cancellationToken)
                : await DpmSolver.AdaptiveAsync(x, sigmas, model, noise, parameters, onStep, cancellationToken);
        }

        x = (float[])x.Clone();
        var steps = sigmas.Count - 1;
        var history = new List<float[]>();
        float[]? oldDenoised = null, olderDenoised = null;
        double? lastH = null, earlierH = null, oldDown = null;
        float[]? oldDifference = null;
        sdeNoise ??= noise is null ? null : (_, _, destination) => noise.FillStandardNormal(destination);
        var deis = name == "deis" ? Deis.Coefficients(sigmas, maxOrder: 3) : null;
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
                    // Straight to x₀ where σ_down is 0 (the last step, or η so large that the step takes all the noise), as ComfyUI.
                    var (down, up) = AncestralStep(sigma, next, eta);
                    AddDerivative(x, denoised, sigma, down - sigma);
                    if (down != 0) AddNoise(x, noise!, up * sNoise);
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
                    var (down, up) = AncestralStep(sigma, next, eta);
                    await Dpm2StepAsync(x, denoised, sigma, down, model, cancellationToken);
                    if (down != 0) AddNoise(x, noise!, up * sNoise);
                    break;
                }
                case "lms":
                {
                    history.Add(Derivative(x, denoised, sigma));
                    if (history.Count > parameters.Order) history.RemoveAt(0);
                    // ComfyUI's sample_lms returns the x0 estimate on the step into sigma 0 (k-diffusion's combined the derivatives).
                    if (next == 0)
                    {
                        denoised.CopyTo(x, 0);
                        break;
                    }

                    var order = Math.Min(i + 1, parameters.Order);
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
                case "dpmpp_2m_sde" or "dpmpp_2m_sde_gpu" or "dpmpp_2m_sde_heun" or "dpmpp_2m_sde_heun_gpu":
                    if (next == 0)
                    {
                        denoised.CopyTo(x, 0);
                        break;
                    }

                    lastH = Dpmpp2mSdeStep(x, denoised, oldDenoised, sigma, next, lastH, sdeNoise!, eta, sNoise,
                        heun: name.Contains("heun", StringComparison.Ordinal) || parameters.SolverType == "heun");
                    oldDenoised = denoised;
                    break;
                case "dpmpp_3m_sde" or "dpmpp_3m_sde_gpu":
                {
                    // ComfyUI keeps h from the step before when a step goes to 0; nothing follows such a step.
                    var h = lastH;
                    if (next == 0)
                    {
                        denoised.CopyTo(x, 0);
                    }
                    else
                    {
                        h = Math.Log(sigma) - Math.Log(next);
                        Dpmpp3mSdeStep(x, denoised, oldDenoised, olderDenoised, sigma, next, h.Value, lastH, earlierH, sdeNoise!, eta, sNoise);
                    }

                    (olderDenoised, oldDenoised) = (oldDenoised, denoised);
                    (earlierH, lastH) = (lastH, h);
                    break;
                }
                case "dpmpp_2s_ancestral":
                {
                    var (down, up) = AncestralStep(sigma, next, eta);
                    if (down == 0) AddDerivative(x, denoised, sigma, down - sigma);
                    else await Dpmpp2sStepAsync(x, denoised, sigma, down, model, cancellationToken);
                    if (next > 0) AddNoise(x, noise!, up * sNoise);
                    break;
                }
                case "ddpm":
                    DdpmStep(x, denoised, sigma, next, noise!);
                    break;
                case "res_multistep" or "res_multistep_ancestral":
                {
                    var (down, up) = name == "res_multistep" ? (next, 0.0) : AncestralStep(sigma, next);
                    if (down == 0 || oldDenoised is null) AddDerivative(x, denoised, sigma, down - sigma);
                    else ResMultistepStep(x, denoised, oldDenoised, sigma, down, oldDown!.Value, sigmas[i - 1]);
                    if (next > 0 && up > 0) AddNoise(x, noise!, up);
                    (oldDenoised, oldDown) = (denoised, down);
                    break;
                }
                case "gradient_estimation":
                {
                    // Euler, then (from the second step) the gradient estimate with γ = 2: d + (γ − 1)(d − d_old).
                    var d = Derivative(x, denoised, sigma);
                    if (next == 0) denoised.CopyTo(x, 0);
                    else
                    {
                        Axpy(x, d, next - sigma);
                        if (history.Count > 0)
                            for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + (d[k] - (double)history[0][k]) * (next - sigma));
                    }

                    history.Clear();
                    history.Add(d);
                    break;
                }
                case "deis":
                {
                    // Order min(3, step + 1), first order into sigma 0; the derivatives of the last two steps in history.
                    var d = Derivative(x, denoised, sigma);
                    var c = deis![i];
                    if (c.Length == 0) Axpy(x, d, next - sigma);
                    else Axpy(x, Combine(d, history, c), 1);
                    history.Add(d);
                    if (history.Count > 2) history.RemoveAt(0);
                    break;
                }
                case "er_sde":
                    if (next == 0) denoised.CopyTo(x, 0);
                    else oldDifference = ErSde.Step(x, denoised, oldDenoised, oldDifference, sigmas, i, noise!, parameters);
                    oldDenoised = denoised;
                    break;
                case "seeds_2" or "seeds_3":
                    if (next == 0) denoised.CopyTo(x, 0);
                    else await Seeds.StepAsync(x, denoised, sigma, next, name == "seeds_3" ? [1 / 3.0, 2 / 3.0] : [0.5], model, noise!, cancellationToken);
                    break;
                case "heunpp2":
                    await HeunPlusPlusStepAsync(x, denoised, sigmas, i, model, cancellationToken);
                    break;
                case "ipndm":
                    if (next == 0) denoised.CopyTo(x, 0);
                    else Axpy(x, IpndmDerivative(Derivative(x, denoised, sigma), history), next - sigma);
                    break;
                case "ipndm_v":
                    if (next == 0) denoised.CopyTo(x, 0);
                    else Axpy(x, IpndmVariableDerivative(Derivative(x, denoised, sigma), history, sigmas, i), next - sigma);
                    break;
                case "dpmpp_sde" or "dpmpp_sde_gpu":
                    await DpmppSdeStepAsync(x, denoised, sigma, next, model, sdeNoise!, parameters, cancellationToken);
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

    /// <summary>
    /// k-diffusion's ancestral split of a step from σ to σ_next: the deterministic target σ_down and the noise σ_up to add,
    /// σ_up = min(σ_next, η·√(σ_next²(σ² − σ_next²)/σ²)) and σ_down = √(σ_next² − σ_up²); η = 0 is the plain step.
    /// </summary>
    /// <param name="sigma">The current sigma.</param>
    /// <param name="next">The next sigma.</param>
    /// <param name="eta">η, the share of fresh noise.</param>
    public static (double Down, double Up) AncestralStep(double sigma, double next, double eta = 1)
    {
        if (eta == 0) return (next, 0);
        var up = Math.Min(next, eta * Math.Sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma)));
        return (Math.Sqrt(next * next - up * up), up);
    }

    /// <summary>
    /// The linear multistep coefficient ∫ ∏_{k≠j} (τ − σ_{i−k}) / (σ_{i−j} − σ_{i−k}) dτ over [σ_i, σ_{i+1}]: a polynomial of
    /// degree order − 1, integrated exactly by Gauss–Legendre (4 points up to order 8).
    /// </summary>
    /// <param name="order">How many past derivatives (1 to <see cref="KSamplerParameters.MaxOrder"/>).</param>
    /// <param name="sigmas">The schedule.</param>
    /// <param name="i">The current step.</param>
    /// <param name="j">Which past derivative (0 = the current one).</param>
    public static double LmsCoefficient(int order, IReadOnlyList<float> sigmas, int i, int j)
    {
        var (nodes, weights) = GaussLegendre.ExactFor(order - 1);
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

    // DPM-Solver++(2M) SDE, midpoint or Heun solver (k-diffusion's sample_dpmpp_2m_sde as ComfyUI runs it): with
    // h_η = (1 + η)·h the step keeps σ_next/σ·e^{−ηh} of x, and the noise σ_next·√(1 − e^{−2ηh})·s_noise is drawn only
    // where η and s_noise are above 0, as ComfyUI; returns h.
    private static double Dpmpp2mSdeStep(float[] x, float[] denoised, float[]? oldDenoised, double sigma, double next, double? lastH, SdeNoise noise,
        double eta, double sNoise, bool heun)
    {
        double h = Math.Log(sigma) - Math.Log(next);
        var hEta = h * (eta + 1);
        var decay = next / sigma * Math.Exp(-h * eta);
        var weight = -double.ExpM1(-hEta);
        // The first-order correction's factor times 1/r = h / h_last: ½·(1 − e^{−h_η}) (midpoint) or 1 − (1 − e^{−h_η}) / h_η (Heun).
        var factor = heun ? 1 - weight / hEta : 0.5 * weight;
        var correction = oldDenoised is null || lastH is null ? 0 : factor * h / lastH.Value;
        var fresh = new float[x.Length];
        var spread = 0.0;
        if (eta > 0 && sNoise > 0)
        {
            noise(sigma, next, fresh);
            spread = next * Math.Sqrt(-double.ExpM1(-2 * h * eta)) * sNoise;
        }

        for (var k = 0; k < x.Length; k++)
        {
            var value = decay * x[k] + weight * denoised[k] + spread * fresh[k];
            if (correction != 0) value += correction * (denoised[k] - oldDenoised![k]);
            x[k] = (float)value;
        }

        return h;
    }

    // DPM-Solver++(3M) SDE (k-diffusion's sample_dpmpp_3m_sde): the exponential-integrator step with the first and
    // second divided differences of the last three x₀ estimates, lower order while fewer exist, and Brownian noise; η and
    // s_noise as in the 2M SDE step.
    private static void Dpmpp3mSdeStep(float[] x, float[] denoised, float[]? denoised1, float[]? denoised2, double sigma, double next, double h,
        double? h1, double? h2, SdeNoise noise, double eta, double sNoise)
    {
        var hEta = h * (eta + 1);
        var decay = next / sigma * Math.Exp(-h * eta);
        var weight = -double.ExpM1(-hEta);
        var phi2 = double.ExpM1(-hEta) / hEta + 1;
        var phi3 = phi2 / hEta - 0.5;
        var fresh = new float[x.Length];
        var spread = 0.0;
        if (eta > 0 && sNoise > 0)
        {
            noise(sigma, next, fresh);
            spread = next * Math.Sqrt(-double.ExpM1(-2 * h * eta)) * sNoise;
        }
        for (var k = 0; k < x.Length; k++)
        {
            var value = decay * x[k] + weight * denoised[k];
            if (h2 is not null && denoised2 is not null)
            {
                double r0 = h1!.Value / h, r1 = h2.Value / h;
                var d10 = (denoised[k] - (double)denoised1![k]) / r0;
                var d11 = (denoised1[k] - (double)denoised2[k]) / r1;
                var d1 = d10 + (d10 - d11) * r0 / (r0 + r1);
                var d2 = (d10 - d11) / (r0 + r1);
                value += phi2 * d1 - phi3 * d2;
            }
            else if (h1 is not null && denoised1 is not null)
            {
                value += phi2 * (denoised[k] - (double)denoised1[k]) / (h1.Value / h);
            }

            x[k] = (float)(value + spread * fresh[k]);
        }
    }

    // DPM-Solver++(2S) to σ_down (k-diffusion's sample_dpmpp_2s_ancestral, r = ½): a model call at the midpoint in log σ,
    // then the full exponential-integrator step with its estimate.
    internal static async Task Dpmpp2sStepAsync(float[] x, float[] denoised, double sigma, double down, KDenoiser model, CancellationToken cancellationToken)
    {
        double t = -Math.Log(sigma), h = -Math.Log(down) - t, s = t + h / 2;
        var sigmaS = (float)Math.Exp(-s);
        var x2 = new float[x.Length];
        double ratio = Math.Exp(-s) / sigma, weight = -double.ExpM1(-h / 2);
        for (var k = 0; k < x.Length; k++) x2[k] = (float)(ratio * x[k] + weight * denoised[k]);
        var denoised2 = await model(x2, sigmaS, cancellationToken);
        ratio = down / sigma;
        weight = -double.ExpM1(-h);
        for (var k = 0; k < x.Length; k++) x[k] = (float)(ratio * x[k] + weight * denoised2[k]);
    }

    // DDPM's ancestral step (ComfyUI's DDPMSampler_step) on the variance-preserving latents x/√(1 + σ²), rescaled after.
    private static void DdpmStep(float[] x, float[] denoised, double sigma, double next, INoiseSource noise)
    {
        double alphaBar = 1 / (sigma * sigma + 1), alphaBarNext = 1 / (next * next + 1), alpha = alphaBar / alphaBarNext;
        double inScale = 1 / Math.Sqrt(1 + sigma * sigma), outScale = next != 0 ? Math.Sqrt(1 + next * next) : 1;
        double meanScale = Math.Sqrt(1 / alpha), epsScale = (1 - alpha) / Math.Sqrt(1 - alphaBar);
        float[]? fresh = null;
        var spread = 0.0;
        if (next > 0)
        {
            fresh = new float[x.Length];
            noise.FillStandardNormal(fresh);
            spread = Math.Sqrt((1 - alpha) * (1 - alphaBarNext) / (1 - alphaBar));
        }

        for (var k = 0; k < x.Length; k++)
        {
            var eps = (x[k] - (double)denoised[k]) / sigma;
            var mean = meanScale * (x[k] * inScale - epsScale * eps);
            if (fresh is not null) mean += spread * fresh[k];
            x[k] = (float)(mean * outScale);
        }
    }

    // RES's second-order multistep step (Zhang et al. 2023, arXiv 2308.02157) to σ_down, with the last step's x₀ estimate:
    // exponential-integrator weights φ₁, φ₂ of −h and the spacing ratio c₂ = (t_prev − t_old) / h in t = −log σ, where
    // t_old is the last step's σ_down (ComfyUI's res_multistep).
    internal static void ResMultistepStep(float[] x, float[] denoised, float[] oldDenoised, double sigma, double down, double oldDown, double previous)
    {
        double t = -Math.Log(sigma), tOld = -Math.Log(oldDown), tNext = -Math.Log(down), tPrevious = -Math.Log(previous);
        var h = tNext - t;
        var c2 = (tPrevious - tOld) / h;
        var phi1 = double.ExpM1(-h) / -h;
        var phi2 = (phi1 - 1) / -h;
        double b1 = phi1 - phi2 / c2, b2 = phi2 / c2;
        if (double.IsNaN(b1)) b1 = 0;
        if (double.IsNaN(b2)) b2 = 0;
        var decay = Math.Exp(-h);
        for (var k = 0; k < x.Length; k++) x[k] = (float)(decay * x[k] + h * (b1 * denoised[k] + b2 * oldDenoised[k]));
    }

    // Heun++ (ComfyUI's heunpp2): Euler into the last step; Heun with weights σ_next / 2σ₀ before it; elsewhere three
    // derivatives (here, at the next and the one after) weighed by σ / 3σ₀.
    private static async Task HeunPlusPlusStepAsync(float[] x, float[] denoised, IReadOnlyList<float> sigmas, int i, KDenoiser model, CancellationToken cancellationToken)
    {
        double sigma = sigmas[i], next = sigmas[i + 1], end = sigmas[^1], dt = next - sigma;
        var d = Derivative(x, denoised, sigma);
        if (next == end)
        {
            Axpy(x, d, dt);
            return;
        }

        var x2 = (float[])x.Clone();
        Axpy(x2, d, dt);
        var d2 = Derivative(x2, await model(x2, sigmas[i + 1], cancellationToken), next);
        if (sigmas[i + 2] == end)
        {
            var w2 = next / (2 * (double)sigmas[0]);
            for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + (d[k] * (1 - w2) + d2[k] * w2) * dt);
            return;
        }

        double after = sigmas[i + 2];
        var x3 = (float[])x2.Clone();
        Axpy(x3, d2, after - next);
        var d3 = Derivative(x3, await model(x3, sigmas[i + 2], cancellationToken), after);
        double w = 3 * (double)sigmas[0], u2 = next / w, u3 = after / w, u1 = 1 - u2 - u3;
        for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + (u1 * d[k] + u2 * d2[k] + u3 * d3[k]) * dt);
    }

    // iPNDM (Zhang & Chen 2023): Adams–Bashforth on the derivative with fixed coefficients, order up to 4 from the
    // derivatives of the steps before (kept in history, newest last, at most 3).
    private static float[] IpndmDerivative(float[] d, List<float[]> history)
    {
        ReadOnlySpan<double> weights = history.Count switch
        {
            0 => [1],
            1 => [3 / 2.0, -1 / 2.0],
            2 => [23 / 12.0, -16 / 12.0, 5 / 12.0],
            _ => [55 / 24.0, -59 / 24.0, 37 / 24.0, -9 / 24.0],
        };
        var combined = Combine(d, history, weights);
        Remember(d, history);
        return combined;
    }

    // iPNDM-v: the variable-step Adams–Bashforth coefficients for the actual sigma spacing (h_n = σ_next − σ, h_{n−k} the
    // spacings before), as ComfyUI's sample_ipndm_v computes them.
    private static float[] IpndmVariableDerivative(float[] d, List<float[]> history, IReadOnlyList<float> t, int i)
    {
        double[] weights;
        if (history.Count == 0)
        {
            weights = [1];
        }
        else
        {
            double hn = t[i + 1] - (double)t[i], hn1 = t[i] - (double)t[i - 1];
            var c1 = (2 + hn / hn1) / 2;
            var c2 = -(hn / hn1) / 2;
            if (history.Count == 1)
            {
                weights = [c1, c2];
            }
            else
            {
                var hn2 = t[i - 1] - (double)t[i - 2];
                var temp1 = (1 - hn / (3 * (hn + hn1)) * (hn * (hn + hn1)) / (hn1 * (hn1 + hn2))) / 2;
                if (history.Count == 2)
                {
                    weights = [c1 + temp1, c2 - (1 + hn1 / hn2) * temp1, temp1 * hn1 / hn2];
                }
                else
                {
                    var hn3 = t[i - 2] - (double)t[i - 3];
                    var ratio = hn1 * (hn1 + hn2) / (hn2 * (hn2 + hn3));
                    var temp2 = ((1 - hn / (3 * (hn + hn1))) / 2 + (1 - hn / (2 * (hn + hn1))) * hn / (6 * (hn + hn1 + hn2)))
                        * (hn * (hn + hn1) * (hn + hn1 + hn2)) / (hn1 * (hn1 + hn2) * (hn1 + hn2 + hn3));
                    weights =
                    [
                        c1 + temp1 + temp2,
                        c2 - (1 + hn1 / hn2) * temp1 - (1 + hn1 / hn2 + ratio) * temp2,
                        temp1 * hn1 / hn2 + (hn1 / hn2 + ratio * (1 + hn2 / hn3)) * temp2,
                        -temp2 * ratio * hn1 / hn2,
                    ];
                }
            }
        }

        var combined = Combine(d, history, weights);
        Remember(d, history);
        return combined;
    }

    // weights[0]·d + Σ weights[j]·history[^j].
    private static float[] Combine(float[] d, List<float[]> history, ReadOnlySpan<double> weights)
    {
        var combined = new float[d.Length];
        for (var k = 0; k < d.Length; k++)
        {
            var value = weights[0] * d[k];
            for (var j = 1; j < weights.Length; j++) value += weights[j] * history[^j][k];
            combined[k] = (float)value;
        }

        return combined;
    }

    private static void Remember(float[] d, List<float[]> history)
    {
        history.Add(d);
        if (history.Count > 3) history.RemoveAt(0);
    }

    // DPM-Solver++ SDE (k-diffusion's sample_dpmpp_sde): an ancestral step (η) to σ_s at the fraction r of the step in
    // log σ (r = ½: √(σ·σ_next)), a second model call there, then the ancestral step to σ_next with the estimates blended
    // 1 − 1/2r : 1/2r; the last step to 0 is Euler. Noise (times s_noise) only where η and s_noise are above 0, as ComfyUI.
    private static async Task DpmppSdeStepAsync(float[] x, float[] denoised, double sigma, double next, KDenoiser model, SdeNoise noise,
        KSamplerParameters parameters, CancellationToken cancellationToken)
    {
        if (next == 0)
        {
            AddDerivative(x, denoised, sigma, next - sigma);
            return;
        }

        var (eta, sNoise, r) = (parameters.Eta, parameters.SNoise, parameters.R);
        var noisy = eta > 0 && sNoise > 0;
        double t = -Math.Log(sigma), h = -Math.Log(next) - t, s = t + h * r, fac = 1 / (2 * r);
        var sigmaS = Math.Exp(-s);
        var fresh = new float[x.Length];

        var (down, up) = AncestralStep(sigma, sigmaS, eta);
        var x2 = new float[x.Length];
        if (noisy) noise(sigma, sigmaS, fresh);
        var spread = noisy ? up * sNoise : 0;
        var ratio = down / sigma;
        var weight = -double.ExpM1(t + Math.Log(down)); // −expm1(t − s_) with s_ = −log σ_down
        for (var k = 0; k < x.Length; k++) x2[k] = (float)(ratio * x[k] + weight * denoised[k] + spread * fresh[k]);
        var denoised2 = await model(x2, (float)sigmaS, cancellationToken);

        (down, up) = AncestralStep(sigma, next, eta);
        if (noisy) noise(sigma, next, fresh);
        spread = noisy ? up * sNoise : 0;
        ratio = down / sigma;
        weight = -double.ExpM1(t + Math.Log(down));
        for (var k = 0; k < x.Length; k++)
        {
            var blended = (1 - fac) * denoised[k] + fac * denoised2[k];
            x[k] = (float)(ratio * x[k] + weight * blended + spread * fresh[k]);
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

    internal static float[] Derivative(float[] x, float[] denoised, double sigma)
    {
        var d = new float[x.Length];
        for (var k = 0; k < x.Length; k++) d[k] = (float)((x[k] - denoised[k]) / sigma);
        return d;
    }

    internal static void AddDerivative(float[] x, float[] denoised, double sigma, double dt)
    {
        for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + (x[k] - denoised[k]) / sigma * dt);
    }

    private static void Axpy(float[] x, float[] d, double scale)
    {
        for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + d[k] * scale);
    }

    internal static void AddNoise(float[] x, INoiseSource noise, double scale)
    {
        var fresh = new float[x.Length];
        noise.FillStandardNormal(fresh);
        for (var k = 0; k < x.Length; k++) x[k] = (float)(x[k] + fresh[k] * scale);
    }
}
