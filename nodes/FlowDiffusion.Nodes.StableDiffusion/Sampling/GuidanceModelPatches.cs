using FlowDiffusion.Diffusion.Guidance;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// ComfyUI's guidance model patches for one guider (<see cref="GuidancePatches"/>: APG, RescaleCFG, CFGZeroStar,
/// PAG, SAG, CFGNorm, TCFG, LatentApplyOperationCFG, Mahiro, EpsilonScaling), with the model's noise schedule, which gives a step's sigma where the sampler does not.
/// </summary>
internal sealed class GuidanceModelPatches(GuidancePatches patches, IModelSampling sampling)
{
    /// <summary>Whether a patch changes the result at scale 1, where ComfyUI guides against a zero unconditional estimate.</summary>
    public bool ActsAtScaleOne => patches.ActsAtScaleOne;

    /// <summary>Whether PAG runs: the guider adds the perturbed conditional rows and evaluates the unconditional half at scale 1 too.</summary>
    public bool Perturbs => patches.Perturbs;

    /// <summary>Whether SAG runs: the guider maps the unconditional rows' middle-block self-attention and predicts their degraded latents again.</summary>
    public bool MapsSelfAttention => patches.SelfAttention is not null;

    /// <summary>Whether the unconditional half is evaluated at scale 1 too (PAG or SAG: ComfyUI's disable_cfg1_optimization).</summary>
    public bool NeedsUnconditional => Perturbs || MapsSelfAttention;

    /// <summary>SAG's degraded latents for the unconditional prediction and its rows' attention <paramref name="map"/>; null where SAG does not act.</summary>
    public SelfAttentionStep? DegradeForSelfAttention(ReadOnlySpan<float> unconditional, ReadOnlySpan<float> map, GuidanceInput input, int outChannels)
    {
        var shape = input.Shape;
        return patches.DegradeForSelfAttention(unconditional, map, input.ModelInput.Span, shape.Batch, shape.Channels, outChannels, shape.Height, shape.Width, Sigma(input));
    }

    /// <summary>
    /// The guided prediction; an empty <paramref name="unconditional"/> stands for ComfyUI's zero estimate at scale 1. PAG's
    /// perturbed prediction and SAG's step with the prediction of its degraded latents are given where they run.
    /// </summary>
    public float[] Guide(ReadOnlySpan<float> conditional, ReadOnlySpan<float> unconditional, float scale, GuidanceInput input, int outChannels, ReadOnlySpan<float> perturbed = default,
        SelfAttentionStep? degraded = null, ReadOnlySpan<float> degradedPrediction = default)
    {
        var shape = input.Shape;
        var result = new float[shape.Batch * outChannels * shape.Height * shape.Width];
        patches.Guide(conditional, unconditional, scale, input.ModelInput.Span, shape.Batch, shape.Channels, outChannels, shape.Height * shape.Width, Sigma(input), result,
            perturbed, shape.Width, degraded, degradedPrediction);
        return result;
    }

    private float Sigma(GuidanceInput input) => input.Sigma ?? sampling.Sigma(input.Timestep);
}
