using FlowDiffusion.Diffusion.Guidance;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// ComfyUI's RescaleCFG for one guider (<see cref="CfgRescale"/>): the multiplier, whether the model predicts v, and its
/// noise schedule, which gives a step's sigma where the sampler does not (diffusers' DDIM-style schedulers).
/// </summary>
internal sealed class GuidanceRescale(float multiplier, bool vPrediction, IModelSampling sampling)
{
    /// <summary>The rescale for a model's scheduler configuration.</summary>
    /// <exception cref="ArgumentException">The prediction type is neither epsilon nor v_prediction.</exception>
    public static GuidanceRescale For(float multiplier, SchedulerConfig config) => new(multiplier, config.PredictionType switch
    {
        null or "epsilon" => false,
        "v_prediction" => true,
        var other => throw new ArgumentException($"rescale supports epsilon and v_prediction models; this model's prediction_type is '{other}'"),
    }, IModelSampling.For(config));

    /// <summary>Rescales <paramref name="guided"/> in place against <paramref name="conditional"/>.</summary>
    public void Apply(ReadOnlySpan<float> conditional, Span<float> guided, GuidanceInput input, int outChannels)
    {
        var shape = input.Shape;
        var sigma = input.Sigma ?? sampling.Sigma(input.Timestep);
        CfgRescale.Apply(conditional, guided, input.ModelInput.Span, shape.Batch, shape.Channels, outChannels, shape.Height * shape.Width, sigma, vPrediction, multiplier);
    }
}
