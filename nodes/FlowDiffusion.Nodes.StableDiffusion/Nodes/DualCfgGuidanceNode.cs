using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Guidance with two prompts as a guider value (ComfyUI's DualCFGGuider).</summary>
[Node("guidance.dual_cfg", "1.0.0", Category = "sampling", Title = "Dual CFG Guidance",
    Description = "Guidance with two prompts (ComfyUI's DualCFGGuider): from the negative towards cond2 with scale_negative, and from cond2 towards cond1 with scale_conds. regular: negative + scale_negative × (cond2 − negative) + scale_conds × (cond1 − cond2); nested: negative + scale_negative × (cond2 + scale_conds × (cond1 − cond2) − negative). The prompts run as one batched UNet call (regular at scale_negative 1 leaves the negative out, and cond2 too at scale_conds 1).")]
public sealed class DualCfgGuidanceNode : INode
{
    /// <summary>The denoiser.</summary>
    [Input(Description = "The denoiser.")]
    public IDenoiser? Denoiser { get; set; }

    /// <summary>The first prompt.</summary>
    [Input(Description = "The prompt guided towards from cond2 (ComfyUI's cond1).")]
    public Conditioning? Cond1 { get; set; }

    /// <summary>The second prompt.</summary>
    [Input(Description = "The prompt guided towards from the negative (ComfyUI's cond2).")]
    public Conditioning? Cond2 { get; set; }

    /// <summary>The negative conditioning.</summary>
    [Input(Description = "What to steer away from.")]
    public Conditioning? Negative { get; set; }

    /// <summary>The scale from cond2 towards cond1.</summary>
    [Parameter(Description = "Guidance scale from cond2 towards cond1 (ComfyUI's cfg_conds).", Min = 0, Max = 100, Step = 0.1)]
    public double ScaleConds { get; set; } = 8;

    /// <summary>The scale from the negative towards cond2.</summary>
    [Parameter(Description = "Guidance scale from the negative towards cond2 (ComfyUI's cfg_cond2_negative).", Min = 0, Max = 100, Step = 0.1)]
    public double ScaleNegative { get; set; } = 8;

    /// <summary>How the two guidances combine.</summary>
    [Parameter(Description = "regular: the two guidances added; nested: the cond1-from-cond2 guidance inside the one from the negative.", Choices = ["regular", "nested"])]
    public string Style { get; set; } = "regular";

    /// <summary>The guider.</summary>
    [Output(Description = "The guider.")]
    public IGuider? Guider { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        if (Style is not ("regular" or "nested")) throw new ArgumentException($"style must be regular or nested, got '{Style}'");
        Guider = new DualCfgGuider(Denoiser!, Cond1!, Cond2!, Negative!, (float)ScaleConds, (float)ScaleNegative, Style == "nested");
        return Task.CompletedTask;
    }
}
