using System.Globalization;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// The settings ComfyUI's sampler nodes (SamplerEulerAncestral, SamplerDPMPP_SDE, SamplerLMS …) pass to the k-diffusion
/// samplers; the defaults are k-diffusion's, which KSampler and KSamplerSelect use. A sampler reads the ones it has and
/// ignores the rest, as in ComfyUI.
/// </summary>
/// <param name="Eta">
/// The share of each step's noise that is fresh (η): 0 is the deterministic ODE step, 1 the full ancestral step, above 1
/// more noise than the step removes (an ancestral step then goes all the way to x₀ and adds noise back). Read by
/// euler_ancestral, dpm_2_ancestral, dpmpp_2s_ancestral, dpmpp_sde, dpmpp_2m_sde and dpmpp_3m_sde (and their _gpu and _heun names),
/// euler_ancestral_cfg_pp and dpmpp_2s_ancestral_cfg_pp, by sa_solver as its stochasticity τ inside its SDE window (at most 10 there), and by
/// er_sde with <see cref="ErSdeSolver"/> reverse_time_sde as its noise scaler's power λ^(η + 1).
/// </param>
/// <param name="SNoise">The factor on each step's fresh noise (s_noise); read by the same samplers as <paramref name="Eta"/> and by er_sde.</param>
/// <param name="R">dpmpp_sde's intermediate point as a fraction of the step in log σ (½ is the midpoint); above 0.</param>
/// <param name="SolverType">dpmpp_2m_sde's second-order correction: "midpoint" or "heun" (the _heun names always use heun).</param>
/// <param name="Order">How many past derivatives lms combines (1 to 100; fewer at the start, while fewer exist).</param>
/// <remarks>
/// dpm_fast and dpm_adaptive read <see cref="DpmEta"/> rather than <see cref="Eta"/>: ComfyUI runs them with η 0 (its
/// SamplerDPMAdaptative's default) where the ancestral samplers take η 1, and one default cannot be both. They read
/// <see cref="SNoise"/>; dpm_adaptive reads the SamplerDPMAdaptative settings from <see cref="AdaptiveOrder"/> to
/// <see cref="AcceptSafety"/>. sa_solver and sa_solver_pece read <see cref="Eta"/>, <see cref="SNoise"/> and
/// <see cref="SdeStartPercent"/> to <see cref="SimpleOrder2"/> (SamplerSASolver's settings); er_sde reads <see cref="MaxStage"/> and
/// <see cref="ErSdeSolver"/> (SamplerER_SDE's).
/// </remarks>
public sealed record KSamplerParameters(double Eta = 1, double SNoise = 1, double R = 0.5, string SolverType = "midpoint", int Order = 4)
{
    /// <summary>The largest dpm_adaptive tolerance, PID coefficient, h_init and accept_safety, as ComfyUI's SamplerDPMAdaptative bounds them.</summary>
    public const double MaxAdaptiveSetting = 100;

    /// <summary>η for dpm_fast and dpm_adaptive: 0, the deterministic solver, by default (ComfyUI's).</summary>
    public double DpmEta { get; init; }

    /// <summary>dpm_adaptive's order: 2 (DPM-Solver-12, two evaluations per try) or 3 (DPM-Solver-23, three).</summary>
    public int AdaptiveOrder { get; init; } = 3;

    /// <summary>dpm_adaptive's relative tolerance on each element of the step's error.</summary>
    public double Rtol { get; init; } = 0.05;

    /// <summary>dpm_adaptive's absolute tolerance on each element of the step's error.</summary>
    public double Atol { get; init; } = 0.0078;

    /// <summary>dpm_adaptive's first step in λ = −log σ; above 0.</summary>
    public double HInit { get; init; } = 0.05;

    /// <summary>dpm_adaptive's proportional coefficient on the step-size controller.</summary>
    public double Pcoeff { get; init; }

    /// <summary>dpm_adaptive's integral coefficient on the step-size controller.</summary>
    public double Icoeff { get; init; } = 1;

    /// <summary>dpm_adaptive's derivative coefficient on the step-size controller.</summary>
    public double Dcoeff { get; init; }

    /// <summary>The step-size factor at or above which dpm_adaptive accepts a try; at most 1 + π/2, the largest factor.</summary>
    public double AcceptSafety { get; init; } = 0.81;

    /// <summary>Where sa_solver's SDE window (η above 0) starts, as a fraction of the model's schedule (ComfyUI's sde_start_percent).</summary>
    public double SdeStartPercent { get; init; } = 0.2;

    /// <summary>Where sa_solver's SDE window ends, as a fraction of the model's schedule (ComfyUI's sde_end_percent).</summary>
    public double SdeEndPercent { get; init; } = 0.8;

    /// <summary>sa_solver's Adams–Bashforth predictor order: 1 … <see cref="MaxSaSolverOrder"/> past estimates (fewer while fewer exist).</summary>
    public int PredictorOrder { get; init; } = 3;

    /// <summary>sa_solver's Adams–Moulton corrector order: 0 (no corrector) … <see cref="MaxSaSolverOrder"/>.</summary>
    public int CorrectorOrder { get; init; } = 4;

    /// <summary>Whether sa_solver evaluates the corrected state again (PECE); sa_solver_pece always does.</summary>
    public bool UsePece { get; init; }

    /// <summary>Whether sa_solver's order-2 steps use the paper's simplified coefficients (Appendix D) instead of the exact integrals.</summary>
    public bool SimpleOrder2 { get; init; }

    /// <summary>er_sde's highest stage: 1 (the first-order step), 2 or 3 (ER-SDE-Solver-3, ComfyUI's default); fewer while fewer estimates exist.</summary>
    public int MaxStage { get; init; } = 3;

    /// <summary>
    /// er_sde's solver, ComfyUI's SamplerER_SDE solver_type: "er_sde" (the noise scaler λ (e^(λ^0.3) + 10); η unread),
    /// "reverse_time_sde" (λ^(η + 1); no noise at η 0) or "ode" (λ, no noise).
    /// </summary>
    public string ErSdeSolver { get; init; } = "er_sde";

    /// <summary>The <see cref="ErSdeSolver"/> values, in the order of ComfyUI's SamplerER_SDE solver_type (ER-SDE, Reverse-time SDE, ODE).</summary>
    public static IReadOnlyList<string> ErSdeSolvers { get; } = ["er_sde", "reverse_time_sde", "ode"];

    /// <summary>The largest sa_solver predictor and corrector order, as ComfyUI's SamplerSASolver bounds them.</summary>
    public const int MaxSaSolverOrder = 6;

    /// <summary>The largest η for sa_solver, as ComfyUI's SamplerSASolver bounds it.</summary>
    public const double MaxSaSolverEta = 10;

    /// <summary>The largest <see cref="Eta"/>, <see cref="SNoise"/> and <see cref="R"/>, as ComfyUI's nodes bound them.</summary>
    public const double MaxFactor = 100;

    /// <summary>The largest lms <see cref="Order"/>, as ComfyUI's SamplerLMS bounds it.</summary>
    public const int MaxOrder = 100;

    /// <summary>The <see cref="SolverType"/> values, in ComfyUI's order.</summary>
    public static IReadOnlyList<string> SolverTypes { get; } = ["midpoint", "heun"];

    /// <summary>k-diffusion's defaults: η 1, s_noise 1, r ½, the midpoint solver, lms order 4.</summary>
    public static KSamplerParameters Default { get; } = new();

    /// <summary>Checks the values for a sampler: null when valid, otherwise a message naming the first one out of range.</summary>
    /// <param name="sampler">The sampler that will read them.</param>
    public string? Check(string sampler)
    {
        // ComfyUI divides by 2r and fails at r = 0 as well.
        if (sampler is "dpmpp_sde" or "dpmpp_sde_gpu" && R == 0) return "r must be above 0 for dpmpp_sde: its second evaluation sits at r of each step and is weighed by 1 / 2r (0.5, the midpoint, by default)";
        if (!(Eta is >= 0 and <= MaxFactor)) return $"eta {Show(Eta)} is outside 0 … {MaxFactor}";
        if (!(SNoise is >= 0 and <= MaxFactor)) return $"s_noise {Show(SNoise)} is outside 0 … {MaxFactor}";
        if (!(R is >= 0 and <= MaxFactor)) return $"r {Show(R)} is outside 0 … {MaxFactor}";
        if (!SolverTypes.Contains(SolverType)) return $"solver_type '{SolverType}' is not one of: {string.Join(", ", SolverTypes)}";
        if (Order is < 1 or > MaxOrder) return $"order {Order} is outside 1 … {MaxOrder}";
        if (!(DpmEta is >= 0 and <= MaxFactor)) return $"dpm_eta {Show(DpmEta)} is outside 0 … {MaxFactor}";
        if (AdaptiveOrder is < 2 or > 3) return $"adaptive_order {AdaptiveOrder} is outside 2 … 3";
        foreach (var (name, value) in new[] { ("rtol", Rtol), ("atol", Atol), ("h_init", HInit), ("pcoeff", Pcoeff), ("icoeff", Icoeff), ("dcoeff", Dcoeff), ("accept_safety", AcceptSafety) })
            if (!(value is >= 0 and <= MaxAdaptiveSetting)) return $"{name} {Show(value)} is outside 0 … {MaxAdaptiveSetting}";
        if (!(SdeStartPercent is >= 0 and <= 1)) return $"sde_start_percent {Show(SdeStartPercent)} is outside 0 … 1";
        if (!(SdeEndPercent is >= 0 and <= 1)) return $"sde_end_percent {Show(SdeEndPercent)} is outside 0 … 1";
        if (PredictorOrder is < 1 or > MaxSaSolverOrder) return $"predictor_order {PredictorOrder} is outside 1 … {MaxSaSolverOrder}";
        if (CorrectorOrder is < 0 or > MaxSaSolverOrder) return $"corrector_order {CorrectorOrder} is outside 0 … {MaxSaSolverOrder}";
        if (MaxStage is < 1 or > 3) return $"max_stage {MaxStage} is outside 1 … 3";
        if (!ErSdeSolvers.Contains(ErSdeSolver)) return $"er_sde_solver '{ErSdeSolver}' is not one of: {string.Join(", ", ErSdeSolvers)}";
        if (sampler is "sa_solver" or "sa_solver_pece" && Eta > MaxSaSolverEta) return $"eta {Show(Eta)} is outside 0 … {MaxSaSolverEta} for {sampler} (ComfyUI's SamplerSASolver range)";
        if (sampler != "dpm_adaptive") return null;
        // ComfyUI takes these and then loops forever: a zero first step never advances, and no try reaches a safety above the limiter's 1 + π/2.
        if (HInit == 0) return "h_init must be above 0 for dpm_adaptive: its first step is h_init in log sigma, and a step of 0 never advances (0.05 by default)";
        if (AcceptSafety > 1 + Math.PI / 2) return $"accept_safety {Show(AcceptSafety)} can never be met by dpm_adaptive: its step-size factor is at most 1 + π/2 ≈ 2.5708 (0.81 by default)";
        return null;
    }

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}
