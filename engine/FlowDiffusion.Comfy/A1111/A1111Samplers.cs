namespace FlowDiffusion.Comfy.A1111;

/// <summary>One of A1111's samplers and the ComfyUI KSampler sampler it runs as.</summary>
/// <param name="Name">A1111's name (<c>sampler_name</c>).</param>
/// <param name="Aliases">A1111's aliases (its old k-diffusion names).</param>
/// <param name="ComfySampler">ComfyUI's <c>sampler_name</c>.</param>
/// <param name="AutomaticScheduler">ComfyUI's <c>scheduler</c> for A1111's "Automatic": the sampler's own default schedule.</param>
public sealed record A1111Sampler(string Name, IReadOnlyList<string> Aliases, string ComfySampler, string AutomaticScheduler)
{
    /// <summary>
    /// The label of the schedule A1111's sampler options name (<c>options['scheduler']</c>: Karras or Exponential), which its
    /// "Automatic" runs and its infotext then names; null for the samplers that name none (they keep the model's timesteps).
    /// </summary>
    public string? OwnScheduleLabel => AutomaticScheduler switch { "karras" => "Karras", "exponential" => "Exponential", _ => null };
}

/// <summary>One of A1111's schedulers (<c>scheduler</c>) and the ComfyUI scheduler it runs as.</summary>
/// <param name="Name">A1111's name.</param>
/// <param name="Label">A1111's label (what its UI and infotext show).</param>
/// <param name="ComfyScheduler">ComfyUI's <c>scheduler</c>; null for Automatic (the sampler's default).</param>
public sealed record A1111Scheduler(string Name, string Label, string? ComfyScheduler);

/// <summary>
/// A1111's sampler and scheduler names (1.9's, where a scheduler is chosen apart from the sampler) and the ComfyUI
/// sampler and scheduler each maps to. Older combined names ("DPM++ 2M Karras", "Euler a Exponential") are a sampler
/// name and a scheduler label, as A1111 1.9 still reads them.
/// </summary>
public static class A1111Samplers
{
    /// <summary>The samplers, in A1111's order. Automatic is A1111's default schedule for each: its uniform timesteps (ComfyUI's normal) unless the sampler names one.</summary>
    public static IReadOnlyList<A1111Sampler> All { get; } =
    [
        new("DPM++ 2M", ["k_dpmpp_2m"], "dpmpp_2m", "karras"),
        new("DPM++ SDE", ["k_dpmpp_sde"], "dpmpp_sde", "karras"),
        new("DPM++ 2M SDE", ["k_dpmpp_2m_sde"], "dpmpp_2m_sde", "exponential"),
        new("DPM++ 2S a", ["k_dpmpp_2s_a"], "dpmpp_2s_ancestral", "karras"),
        new("DPM++ 3M SDE", ["k_dpmpp_3m_sde"], "dpmpp_3m_sde", "exponential"),
        new("Euler a", ["k_euler_a", "k_euler_ancestral"], "euler_ancestral", "normal"),
        new("Euler", ["k_euler"], "euler", "normal"),
        new("LMS", ["k_lms"], "lms", "normal"),
        new("Heun", ["k_heun"], "heun", "normal"),
        new("DPM2", ["k_dpm_2"], "dpm_2", "karras"),
        new("DPM2 a", ["k_dpm_2_a"], "dpm_2_ancestral", "karras"),
        new("DPM fast", ["k_dpm_fast"], "dpm_fast", "normal"),
        new("DPM adaptive", ["k_dpm_ad"], "dpm_adaptive", "normal"),
        new("DDIM", ["ddim"], "ddim", "ddim_uniform"),
        new("UniPC", ["unipc"], "uni_pc", "normal"),
        new("LCM", ["k_lcm"], "lcm", "normal"),
    ];

    /// <summary>A1111's samplers FlowDiffusion does not run (no ComfyUI KSampler sampler is theirs): refused by name.</summary>
    public static IReadOnlyList<string> Unsupported { get; } = ["DPM++ 2M SDE Heun", "Restart", "DDIM CFG++", "PLMS"];

    /// <summary>The schedulers, in A1111's order.</summary>
    public static IReadOnlyList<A1111Scheduler> Schedulers { get; } =
    [
        new("automatic", "Automatic", null),
        new("uniform", "Uniform", "normal"),
        new("karras", "Karras", "karras"),
        new("exponential", "Exponential", "exponential"),
        new("sgm_uniform", "SGM Uniform", "sgm_uniform"),
        new("kl_optimal", "KL Optimal", "kl_optimal"),
        new("simple", "Simple", "simple"),
        new("normal", "Normal", "normal"),
        new("ddim", "DDIM", "ddim_uniform"),
        new("beta", "Beta", "beta"),
    ];

    /// <summary>
    /// The sampler a name gives (A1111's name or alias, case-insensitive) and the scheduler a combined old name carries
    /// ("DPM++ 2M Karras": DPM++ 2M and Karras), or null for an unknown name.
    /// </summary>
    public static (A1111Sampler Sampler, A1111Scheduler? Scheduler)? Find(string name)
    {
        if (Named(name) is { } sampler) return (sampler, null);
        foreach (var scheduler in Schedulers.Where(s => s.ComfyScheduler is not null))
        {
            var suffix = " " + scheduler.Label;
            if (name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && Named(name[..^suffix.Length]) is { } prefix) return (prefix, scheduler);
        }

        return null;
    }

    /// <summary>The scheduler a name or label gives (case-insensitive), or null.</summary>
    public static A1111Scheduler? FindScheduler(string name) =>
        Schedulers.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase) || string.Equals(s.Label, name, StringComparison.OrdinalIgnoreCase));

    private static A1111Sampler? Named(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase) || s.Aliases.Contains(name, StringComparer.OrdinalIgnoreCase));
}
