namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>What a guider sees at one step of the sampling loop.</summary>
/// <param name="ModelInput">The scaled model input [batch, channels, h, w] (mask and masked-image latents appended for a 9-channel UNet).</param>
/// <param name="Shape">The shape of <paramref name="ModelInput"/>.</param>
/// <param name="Latents">The current unscaled latents [batch, 4, h, w].</param>
/// <param name="Timestep">The scheduler timestep.</param>
/// <param name="Sigma">The noise level of the step for sigma-based schedulers, or null.</param>
/// <param name="Step">The 0-based index of this model evaluation.</param>
/// <param name="TotalSteps">The number of model evaluations in the loop.</param>
public sealed record GuidanceInput(
    ReadOnlyMemory<float> ModelInput,
    LatentShape Shape,
    ReadOnlyMemory<float> Latents,
    float Timestep,
    float? Sigma,
    int Step,
    int TotalSteps);
