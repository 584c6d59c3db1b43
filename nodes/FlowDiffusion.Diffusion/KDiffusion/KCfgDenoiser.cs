namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// The model as the CFG++ samplers (<see cref="CfgPlusPlus"/>) see it: one evaluation of the latents <paramref name="x"/> at
/// <paramref name="sigma"/> giving the guided x₀ estimate, as <see cref="KDenoiser"/> returns it, and the unconditional
/// one it was guided from (ComfyUI's <c>uncond_denoised</c>). Both are fresh arrays the sampler may keep.
/// </summary>
/// <param name="x">The current latents (x₀ + σ·ε scale, not divided by √(σ² + 1)).</param>
/// <param name="sigma">The noise level.</param>
/// <param name="cancellationToken">Cancels the evaluation.</param>
public delegate ValueTask<CfgDenoised> KCfgDenoiser(float[] x, float sigma, CancellationToken cancellationToken);

/// <summary>One evaluation's x₀ estimates: the guided one and the unconditional one.</summary>
/// <param name="Denoised">The guided estimate (guidance and rescale applied).</param>
/// <param name="Unconditional">The unconditional (negative prompt) estimate.</param>
public readonly record struct CfgDenoised(float[] Denoised, float[] Unconditional);
