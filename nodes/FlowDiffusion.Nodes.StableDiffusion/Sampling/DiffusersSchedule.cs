using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>A scheduler choice as an immutable value: each sampling loop gets a fresh scheduler with timesteps set.</summary>
internal sealed record DiffusersSchedule(string Name, int Steps, SchedulerConfig Config, bool Karras, string? Spacing) : ISchedule
{
    public IScheduler CreateScheduler()
    {
        var scheduler = SchedulerCatalog.Create(Name, Config, Karras, Spacing);
        scheduler.SetTimesteps(Steps);
        return scheduler;
    }

    /// <summary>The training noise schedule, for predicted-x0 previews.</summary>
    public NoiseSchedule Training => NoiseSchedule.For(Config);
}
