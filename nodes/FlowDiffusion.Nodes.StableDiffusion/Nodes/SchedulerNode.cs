using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Picks a scheduler and step count for the model's noise schedule.</summary>
[Node("diffusion.scheduler", "1.0.0", Category = "sampling", Title = "Scheduler",
    Description = "A diffusers-conformant scheduler (the name's choices) configured from the model's scheduler_config.json; optional Karras sigmas.")]
public sealed class SchedulerNode : INode
{
    /// <summary>The model's scheduler configuration.</summary>
    [Input(Description = "The model's scheduler configuration.")]
    public SchedulerConfigSource? Config { get; set; }

    /// <summary>The scheduler name.</summary>
    [Parameter(Description = "The scheduler.", ChoicesFrom = typeof(SchedulerNames))]
    public string Name { get; set; } = "euler";

    /// <summary>Steps.</summary>
    [Parameter(Description = "Inference steps.", Min = 1, Max = 1000)]
    public int Steps { get; set; } = 30;

    /// <summary>Karras sigmas.</summary>
    [Parameter(Description = "Use Karras sigmas (sigma-based schedulers).")]
    public bool Karras { get; set; }

    /// <summary>Timestep spacing.</summary>
    [Parameter(Description = "Timestep spacing; 'default' keeps the scheduler's own.", Choices = ["default", "leading", "linspace", "trailing"], Advanced = true)]
    public string Spacing { get; set; } = "default";

    /// <summary>The schedule.</summary>
    [Output(Description = "The configured schedule.")]
    public ISchedule? Schedule { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var config = SchedulerConfig.FromJson(Config!.Json);
        if (config.ModelSampling is not (null or "discrete"))
            throw new ArgumentException($"the scheduler configuration has a continuous model sampling ({config.ModelSampling}, from model.sampling_continuous), and the diffusers schedulers read a discrete training schedule: sample it with diffusion.ksampler.");
        var schedule = new DiffusersSchedule(Name, Steps, config, Karras, Spacing == "default" ? null : Spacing);
        schedule.CreateScheduler(); // fail here, at the scheduler node, for an impossible combination
        Schedule = schedule;
        return Task.CompletedTask;
    }
}
