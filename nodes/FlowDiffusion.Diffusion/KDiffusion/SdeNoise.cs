namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// The noise of an SDE sampler for the step from <paramref name="sigma"/> to <paramref name="sigmaNext"/>: standard normal
/// values (k-diffusion's <c>noise_sampler(sigma, sigma_next)</c>), e.g. a Brownian increment over the interval divided by
/// the square root of its length (<see cref="BrownianTreeNoise"/>).
/// </summary>
/// <param name="sigma">Where the step starts.</param>
/// <param name="sigmaNext">Where it ends.</param>
/// <param name="destination">Receives one value per latent element.</param>
public delegate void SdeNoise(double sigma, double sigmaNext, Span<float> destination);
