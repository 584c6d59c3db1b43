using FlowDiffusion.Diffusion.KDiffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// ComfyUI's DifferentialDiffusion: the noise mask, soft, becomes per evaluation the set of pixels whose mask reaches the
/// step's threshold — (t − t_to) / (t_from − t_to) in the model's timesteps, from 1 at the schedule's first sigma to 0 at
/// its last (the model's smallest sigma when the schedule ends at 0) — so a pixel with mask m is repainted from the step
/// where the threshold falls to m, untouched before. A strength below 1 mixes that binary mask with the soft one.
/// </summary>
internal sealed class DifferentialDiffusionMask
{
    private readonly float[] mask;
    private readonly IModelSampling sampling;
    private readonly float timestepFrom;
    private readonly float timestepTo;
    private readonly float strength;

    /// <summary>The thresholds for the sampler's <paramref name="sigmas"/>.</summary>
    /// <param name="mask">The noise mask at latent size, [batch, h, w], 0 … 1.</param>
    /// <param name="sampling">The model's noise schedule (its timesteps).</param>
    /// <param name="sigmas">The sigmas the sampler walks.</param>
    /// <param name="strength">ComfyUI's strength: 0 or 1 the binary mask alone, between them mixed with the soft mask.</param>
    public DifferentialDiffusionMask(float[] mask, IModelSampling sampling, IReadOnlyList<float> sigmas, double strength)
    {
        this.mask = mask;
        this.sampling = sampling;
        timestepFrom = sampling.TimestepOf(sigmas[0]);
        timestepTo = sampling.TimestepOf(Math.Max(sigmas[^1], sampling.SigmaMin));
        this.strength = (float)strength;
    }

    /// <summary>The mask for an evaluation at <paramref name="sigma"/>.</summary>
    public float[] At(float sigma)
    {
        // In float32 as torch divides the timesteps (whole numbers for a discrete model): NaN, no pixel passing, where the
        // schedule spans one timestep.
        var threshold = (sampling.TimestepOf(sigma) - timestepTo) / (timestepFrom - timestepTo);
        var result = new float[mask.Length];
        var blend = strength > 0 && strength < 1;
        for (var i = 0; i < mask.Length; i++)
        {
            var binary = mask[i] >= threshold ? 1f : 0f;
            result[i] = blend ? strength * binary + (1 - strength) * mask[i] : binary;
        }

        return result;
    }
}
