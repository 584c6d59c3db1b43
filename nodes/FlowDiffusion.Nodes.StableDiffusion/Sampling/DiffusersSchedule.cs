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

    public float? TrainingSigma(float timestep)
    {
        var sigmas = NoiseSchedule.For(Config).Sigmas;
        var low = (int)Math.Clamp(MathF.Floor(timestep), 0, sigmas.Length - 1);
        var high = Math.Min(low + 1, sigmas.Length - 1);
        return sigmas[low] + (timestep - low) * (sigmas[high] - sigmas[low]);
    }
}
