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

    /// <summary>
    /// The training noise level σ(t) = √((1 − ᾱ)/ᾱ) at a (possibly fractional) timestep, linearly interpolated
    /// between training steps, for turning a prediction into the predicted clean latents; null when unknown.
    /// </summary>
    /// <param name="timestep">An entry of the scheduler's timesteps.</param>
    float? TrainingSigma(float timestep) => null;
}
