using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Classifier-free guidance as a guider value.</summary>
[Node("guidance.cfg", "1.0.0", Category = "sampling", Title = "CFG Guidance",
    Description = "Classifier-free guidance: negative + scale × (positive − negative), both halves in one batch-2 UNet call.")]
public sealed class CfgGuidanceNode : INode
{
    /// <summary>The denoiser.</summary>
    [Input(Description = "The denoiser.")]
    public IDenoiser? Denoiser { get; set; }

    /// <summary>The positive conditioning.</summary>
    [Input(Description = "What to draw.")]
    public Conditioning? Positive { get; set; }

    /// <summary>The negative conditioning.</summary>
    [Input(Description = "What to steer away from (the unconditional half).")]
    public Conditioning? Negative { get; set; }

    /// <summary>The guidance scale.</summary>
    [Parameter(Description = "Guidance scale; 1 disables guidance (the negative is then not evaluated, except for the _cfg_pp samplers, which step with its prediction as ComfyUI's do).", Min = 0, Max = 100, Step = 0.5)]
    public double Scale { get; set; } = 7.5;

    /// <summary>ComfyUI's RescaleCFG multiplier.</summary>
    [Parameter(Description = "Rescale the guided prediction towards the conditional one's standard deviation in v-space (ComfyUI's RescaleCFG multiplier; 0.7 is its default): against the over-saturation of high scales, and what v-prediction and zero-terminal-SNR models want. 0 = off. Needs config.", Min = 0, Max = 1, Step = 0.01)]
    public double Rescale { get; set; }

    /// <summary>The model's scheduler configuration, for the rescale.</summary>
    [Input(Description = "The model's scheduler configuration (its prediction type and noise schedule), which rescale needs.", Optional = true)]
    public SchedulerConfigSource? Config { get; set; }

    /// <summary>The guider.</summary>
    [Output(Description = "The guider.")]
    public IGuider? Guider { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        GuidanceRescale? rescale = null;
        if (Rescale > 0)
        {
            if (Config is null) throw new ArgumentException("rescale needs the model's scheduler configuration: link config (model.load's scheduler_config)");
            rescale = GuidanceRescale.For((float)Rescale, SchedulerConfig.FromJson(Config.Json));
        }

        Guider = new CfgGuider(Denoiser!, Positive!, Negative!, (float)Scale, rescale);
        return Task.CompletedTask;
    }
}
