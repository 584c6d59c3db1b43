using System.Globalization;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// Rising sigmas (ComfyUI's FlipSigmas) walk a sampler from little noise to much: "unsampling", the inverse of sampling,
/// which turns an image's latents into the noise that samples back to it. ComfyUI runs every sampler on them with the
/// same formulas; the deterministic ones (euler, heun, dpm_2, lms, dpmpp_2m, ipndm, deis, uni_pc, …, and the ancestral and
/// SDE ones at η 0) integrate the ODE backwards, and so do these samplers here. Where the formulas have no meaning for a
/// rising step — the ancestral split's σ_up and the SDE noise are square roots of negative numbers, ddpm's variance is
/// negative, heunpp2's weights σ / 3σ₀ grow without bound — ComfyUI returns NaN or an accident of its NaN handling
/// (Python's <c>min</c> drops the NaN, and the step returns its x₀ estimate); here that is an error naming the sampler.
/// </summary>
public static class RisingSigmas
{
    /// <summary>Whether the schedule rises (its second sigma above its first).</summary>
    /// <param name="sigmas">The schedule.</param>
    public static bool Are(IReadOnlyList<float> sigmas)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        return sigmas.Count > 1 && sigmas[1] > sigmas[0];
    }

    /// <summary>
    /// Checks that a schedule is one the samplers walk: finite and non-negative, and strictly falling, or strictly rising
    /// from a first sigma above 0 (the samplers divide by it). Null when it is; otherwise the message.
    /// </summary>
    /// <param name="sigmas">The schedule.</param>
    public static string? CheckOrder(IReadOnlyList<float> sigmas)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        var rising = Are(sigmas);
        for (var i = 0; i < sigmas.Count; i++)
        {
            if (!float.IsFinite(sigmas[i]) || sigmas[i] < 0) return $"sigma {i} ({Show(sigmas[i])}) is not a non-negative number";
            if (i == 0) continue;
            if (rising && !(sigmas[i] > sigmas[i - 1]))
                return $"sigma {i} ({Show(sigmas[i])}) is not above the one before ({Show(sigmas[i - 1])}); the samplers walk strictly falling or strictly rising sigmas";
            if (!rising && !(sigmas[i] < sigmas[i - 1]))
                return $"sigma {i} ({Show(sigmas[i])}) is not below the one before ({Show(sigmas[i - 1])}); the samplers walk strictly falling or strictly rising sigmas";
        }

        return rising && sigmas[0] == 0 ? "rising sigmas start at 0, where the samplers divide by the sigma; start above 0 (ComfyUI's FlipSigmas puts 0.0001 there)" : null;
    }

    /// <summary>Null when sampler <paramref name="name"/> walks rising sigmas with these settings; otherwise the message saying why not.</summary>
    /// <param name="name">A sampler name (<see cref="KSamplers.Names"/>).</param>
    /// <param name="parameters">Its settings.</param>
    public static string? Check(string name, KSamplerParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        const string Ancestral = "its ancestral step's sigma_up is the square root of a negative number on a rising step (ComfyUI's min() drops that NaN and each step returns its x0 estimate, which unsamples nothing)";
        const string Sde = "its SDE noise is the square root of a negative number on a rising step (NaN in ComfyUI)";
        var why = name switch
        {
            "euler_ancestral" or "dpm_2_ancestral" or "dpmpp_2s_ancestral" or "dpmpp_sde" or "dpmpp_sde_gpu" or "euler_ancestral_cfg_pp" or "dpmpp_2s_ancestral_cfg_pp"
                when parameters.Eta > 0 => (Ancestral, "set eta to 0 (the deterministic step, which unsamples) or use euler"),
            "dpmpp_2m_sde" or "dpmpp_2m_sde_gpu" or "dpmpp_2m_sde_heun" or "dpmpp_2m_sde_heun_gpu" or "dpmpp_3m_sde" or "dpmpp_3m_sde_gpu" or "sa_solver" or "sa_solver_pece"
                when parameters.Eta > 0 && parameters.SNoise > 0 => (Sde, "set eta or s_noise to 0 or use euler"),
            "dpm_fast" or "dpm_adaptive" when parameters.DpmEta > 0 => ("DPM-Solver takes fresh noise only on falling sigmas (ComfyUI: 'eta must be 0 for reverse sampling')", "set dpm_eta to 0"),
            "res_multistep_ancestral" or "res_multistep_ancestral_cfg_pp" => (Ancestral + " and its eta is fixed at 1", "use res_multistep or euler"),
            "seeds_2" or "seeds_3" => (Sde + " and its eta is fixed at 1", "use euler"),
            "ddpm" => ("its step's variance (1 − α)(1 − ᾱ_next)/(1 − ᾱ) is negative on a rising step (NaN in ComfyUI)", "use euler"),
            "heunpp2" => ("its weights σ_next / 3σ₀ assume falling sigmas and grow without bound on rising ones", "use heun or euler"),
            _ => ((string, string)?)null,
        };
        return why is { } reason ? $"sampler '{name}' does not walk rising sigmas (FlipSigmas, unsampling): {reason.Item1}; {reason.Item2}." : null;
    }

    private static string Show(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}
