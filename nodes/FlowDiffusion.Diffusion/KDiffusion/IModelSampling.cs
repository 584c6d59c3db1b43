using FlowDiffusion.Diffusion.Schedulers;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// A model's noise levels as ComfyUI's <c>model_sampling</c> describes them to its schedules and samplers: a table of
/// sigmas ascending in t, its ends, and the mapping between a sigma and the timestep the UNet is fed.
/// </summary>
public interface IModelSampling
{
    /// <summary>The model's sigma table in float32, ascending (what the simple, ddim_uniform and beta schedules pick from).</summary>
    IReadOnlyList<float> Sigmas { get; }

    /// <summary>The smallest sigma of the table.</summary>
    float SigmaMin { get; }

    /// <summary>The largest sigma of the table.</summary>
    float SigmaMax { get; }

    /// <summary>The timestep the UNet is fed at <paramref name="sigma"/> (ComfyUI's <c>timestep(sigma)</c>).</summary>
    /// <param name="sigma">A positive noise level.</param>
    float TimestepOf(float sigma);

    /// <summary>The sigma of a timestep (ComfyUI's <c>sigma(timestep)</c>), the inverse of <see cref="TimestepOf"/>.</summary>
    /// <param name="timestep">A timestep.</param>
    float Sigma(float timestep);

    /// <summary>
    /// The sigma a fraction of the schedule starts at (ComfyUI's <c>percent_to_sigma</c>): at or below 0 a sigma above any
    /// (999999999.9), at or above 1 zero.
    /// </summary>
    /// <param name="percent">The fraction of the schedule, 0 the start and 1 the end.</param>
    double PercentToSigma(double percent);

    /// <summary>
    /// The model sampling a scheduler configuration describes: <see cref="ContinuousModelSampling"/> where
    /// <see cref="SchedulerConfig.ModelSampling"/> names one, else the discrete training schedule of its betas.
    /// </summary>
    /// <param name="config">The model's scheduler configuration.</param>
    static IModelSampling For(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return ContinuousModelSampling.For(config) ?? (IModelSampling)DiscreteModelSampling.For(config);
    }
}
