namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// The model as k-diffusion samplers see it: the denoised estimate x₀ of the latents <paramref name="x"/> at noise level
/// <paramref name="sigma"/> (guidance included). Returns a fresh array the sampler may keep.
/// </summary>
/// <param name="x">The current latents (x₀ + σ·ε scale, not divided by √(σ² + 1)).</param>
/// <param name="sigma">The noise level.</param>
/// <param name="cancellationToken">Cancels the evaluation.</param>
public delegate ValueTask<float[]> KDenoiser(float[] x, float sigma, CancellationToken cancellationToken);
