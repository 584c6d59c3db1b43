namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>
/// One run's stepping rule over a noise schedule, shaped like a diffusers scheduler: set the timesteps, scale
/// the model input, step, add noise. Instances are stateful (multistep methods keep a history) and belong to
/// one sampling loop; get a fresh one from <see cref="ISchedule.CreateScheduler"/>.
/// </summary>
public interface IScheduler
{
    /// <summary>The user-facing short name, e.g. <c>euler_a</c> or <c>dpmpp_2m</c>.</summary>
    string Name { get; }

    /// <summary>Model evaluations per solver step: 2 for Heun and KDPM2, 1 otherwise.</summary>
    int Order { get; }

    /// <summary>The timesteps the model is evaluated at, in order; <see cref="Step"/> is called once per entry.</summary>
    IReadOnlyList<float> Timesteps { get; }

    /// <summary>The sigmas as the diffusers scheduler holds them (one more than the timesteps), or <c>null</c> where it has none.</summary>
    IReadOnlyList<float>? Sigmas { get; }

    /// <summary>The standard deviation of the initial noise; pure noise latents are multiplied by it.</summary>
    float InitNoiseSigma { get; }

    /// <summary>Builds the inference schedule for <paramref name="steps"/> steps and resets the solver state.</summary>
    /// <param name="steps">The number of inference steps.</param>
    void SetTimesteps(int steps);

    /// <summary>Writes the model input for <paramref name="timestep"/> (e.g. x / sqrt(sigma² + 1) for sigma-based methods).</summary>
    /// <param name="sample">The current latents.</param>
    /// <param name="timestep">An entry of <see cref="Timesteps"/>.</param>
    /// <param name="destination">Receives the scaled latents; may be the same memory as <paramref name="sample"/>.</param>
    void ScaleModelInput(ReadOnlySpan<float> sample, float timestep, Span<float> destination);

    /// <summary>Advances the latents by one entry of the schedule.</summary>
    /// <param name="modelOutput">The model's prediction (epsilon or v, as configured).</param>
    /// <param name="timestep">The entry of <see cref="Timesteps"/> the model was evaluated at.</param>
    /// <param name="sample">The current (unscaled) latents.</param>
    /// <param name="previousSample">Receives the latents for the next entry.</param>
    /// <param name="noise">The noise stream for stochastic methods; <c>null</c> for deterministic ones.</param>
    void Step(ReadOnlySpan<float> modelOutput, float timestep, ReadOnlySpan<float> sample, Span<float> previousSample, INoiseSource? noise);

    /// <summary>Noises clean latents to the level of <paramref name="timestep"/> (img2img start, inpaint blending).</summary>
    /// <param name="original">Clean latents.</param>
    /// <param name="noise">Standard normal noise of the same length.</param>
    /// <param name="timestep">An entry of <see cref="Timesteps"/>.</param>
    /// <param name="destination">Receives the noised latents.</param>
    void AddNoise(ReadOnlySpan<float> original, ReadOnlySpan<float> noise, float timestep, Span<float> destination);
}
