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
/// euler_ancestral_cfg_pp and dpmpp_2s_ancestral_cfg_pp.
/// </param>
/// <param name="SNoise">The factor on each step's fresh noise (s_noise); read by the same samplers as <paramref name="Eta"/>.</param>
/// <param name="R">dpmpp_sde's intermediate point as a fraction of the step in log σ (½ is the midpoint); above 0.</param>
/// <param name="SolverType">dpmpp_2m_sde's second-order correction: "midpoint" or "heun" (the _heun names always use heun).</param>
/// <param name="Order">How many past derivatives lms combines (1 to 100; fewer at the start, while fewer exist).</param>
public sealed record KSamplerParameters(double Eta = 1, double SNoise = 1, double R = 0.5, string SolverType = "midpoint", int Order = 4)
{
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
        return null;
    }

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}
