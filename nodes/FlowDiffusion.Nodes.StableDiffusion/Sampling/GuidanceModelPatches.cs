using FlowDiffusion.Diffusion.Guidance;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// ComfyUI's guidance model patches for one guider (<see cref="GuidancePatches"/>: APG, RescaleCFG, CFGZeroStar,
/// PAG, CFGNorm, TCFG, LatentApplyOperationCFG, Mahiro, EpsilonScaling), with the model's noise schedule, which gives a step's sigma where the sampler does not.
/// </summary>
internal sealed class GuidanceModelPatches(GuidancePatches patches, IModelSampling sampling)
{
    /// <summary>Whether a patch changes the result at scale 1, where ComfyUI guides against a zero unconditional estimate.</summary>
    public bool ActsAtScaleOne => patches.ActsAtScaleOne;

    /// <summary>Whether PAG runs: the guider adds the perturbed conditional rows and evaluates the unconditional half at scale 1 too.</summary>
    public bool Perturbs => patches.Perturbs;

    /// <summary>The guided prediction; an empty <paramref name="unconditional"/> stands for ComfyUI's zero estimate at scale 1.</summary>
    public float[] Guide(ReadOnlySpan<float> conditional, ReadOnlySpan<float> unconditional, float scale, GuidanceInput input, int outChannels, ReadOnlySpan<float> perturbed = default)
    {
        var shape = input.Shape;
        var result = new float[shape.Batch * outChannels * shape.Height * shape.Width];
        var sigma = input.Sigma ?? sampling.Sigma(input.Timestep);
        patches.Guide(conditional, unconditional, scale, input.ModelInput.Span, shape.Batch, shape.Channels, outChannels, shape.Height * shape.Width, sigma, result,
            perturbed, shape.Width);
        return result;
    }
}
