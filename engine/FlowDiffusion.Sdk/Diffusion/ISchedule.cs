namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// A configured scheduler as a value on a graph edge: immutable, it hands each sampling loop a fresh
/// <see cref="IScheduler"/> whose timesteps are already set.
/// </summary>
[PortType("SCHEDULE", "#4dd0e1")]
public interface ISchedule
{
    /// <summary>The user-facing scheduler name, e.g. <c>euler</c>.</summary>
    string Name { get; }

    /// <summary>The number of inference steps.</summary>
    int Steps { get; }

    /// <summary>Creates a scheduler with its timesteps set for <see cref="Steps"/> steps.</summary>
    IScheduler CreateScheduler();
}
