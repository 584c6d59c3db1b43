using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// The user-facing scheduler names (CLI, YAML, editor) and the diffusers class behind each, with the separate
/// Karras switch and spacing override.
/// </summary>
public static class SchedulerCatalog
{
    private static readonly (string Name, bool Karras, Func<SchedulerConfig, IScheduler> Create)[] Entries =
    [
        ("ddim", false, c => new DdimScheduler(c)),
        ("pndm", false, c => new PndmScheduler(c)),
        ("lms", true, c => new LmsScheduler(c)),
        ("euler", true, c => new EulerScheduler(c)),
        ("euler_a", false, c => new EulerAncestralScheduler(c)),
        ("heun", true, c => new HeunScheduler(c)),
        ("dpmpp_2m", true, c => new DpmSolverMultistepScheduler(c)),
        ("dpm_single", true, c => new DpmSolverSinglestepScheduler(c)),
        ("unipc", true, c => new UniPcScheduler(c)),
        ("deis", true, c => new DeisScheduler(c)),
        ("kdpm2", true, c => new Kdpm2Scheduler(c)),
        ("kdpm2_a", true, c => new Kdpm2AncestralScheduler(c)),
        ("ddpm", false, c => new DdpmScheduler(c)),
        ("lcm", false, c => new LcmScheduler(c)),
    ];

    /// <summary>The valid short names, in display order.</summary>
    public static IReadOnlyList<string> Names { get; } = Entries.Select(e => e.Name).ToArray();

    /// <summary>Whether the named scheduler supports Karras sigmas.</summary>
    /// <param name="name">A short name from <see cref="Names"/>.</param>
    public static bool SupportsKarras(string name) => Find(name).Karras;

    /// <summary>
    /// Creates the named scheduler from a model's configuration. The model file's own <c>_class_name</c> does not
    /// matter: its numbers are read by the requested class, each applying its own defaults for absent keys.
    /// </summary>
    /// <param name="name">A short name from <see cref="Names"/>, e.g. <c>dpmpp_2m</c>.</param>
    /// <param name="config">The model's scheduler configuration.</param>
    /// <param name="karras">Use Karras sigmas (overrides <c>use_karras_sigmas</c> when true).</param>
    /// <param name="spacing">Overrides <c>timestep_spacing</c>: leading, linspace or trailing.</param>
    public static IScheduler Create(string name, SchedulerConfig config, bool karras = false, string? spacing = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var entry = Find(name);
        if (karras && !entry.Karras)
        {
            var supported = Entries.Where(e => e.Karras).Select(e => e.Name);
            throw new ArgumentException(
                $"Scheduler '{entry.Name}' has no Karras sigmas in diffusers; drop the karras switch or pick one of: {string.Join(", ", supported)}.",
                nameof(karras));
        }

        if (entry.Name == "dpm_single" && spacing is not null and not "linspace")
        {
            throw new ArgumentException($"Scheduler 'dpm_single' always uses linspace timesteps (diffusers has no spacing option for it); spacing '{spacing}' is not available.", nameof(spacing));
        }

        if (karras) config = config with { UseKarrasSigmas = true };
        if (spacing is not null) config = config with { TimestepSpacing = TimestepSpacing.Validate(spacing) };
        return entry.Create(config);
    }

    private static (string Name, bool Karras, Func<SchedulerConfig, IScheduler> Create) Find(string name)
    {
        var key = name?.Trim().ToLowerInvariant();
        foreach (var entry in Entries)
        {
            if (entry.Name == key) return entry;
        }

        throw new ArgumentException($"Unknown scheduler '{name}'. Valid names: {string.Join(", ", Names)}.", nameof(name));
    }
}
