using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Perp-Neg guidance as a guider value (ComfyUI's PerpNegGuider).</summary>
[Node("guidance.perp_neg", "1.0.0", Category = "sampling", Title = "Perp-Neg Guidance",
    Description = "Perp-Neg (ComfyUI's PerpNegGuider): guidance from the empty prompt towards the positive, with the negative acting only through its part perpendicular to the positive's direction, so a negative that overlaps the positive (\"a man\" / \"a beard\") does not cancel it: empty + scale × (pos − neg_scale × perp), pos and neg taken from the empty prompt's prediction. The three prompts run as one batch-3 UNet call.")]
public sealed class PerpNegGuidanceNode : INode
{
    /// <summary>The denoiser.</summary>
    [Input(Description = "The denoiser.")]
    public IDenoiser? Denoiser { get; set; }

    /// <summary>The positive conditioning.</summary>
    [Input(Description = "What to draw.")]
    public Conditioning? Positive { get; set; }

    /// <summary>The negative conditioning.</summary>
    [Input(Description = "What to steer away from, perpendicular to the positive.")]
    public Conditioning? Negative { get; set; }

    /// <summary>The empty prompt's conditioning.</summary>
    [Input(Description = "The empty prompt's conditioning: the unconditional prediction both are taken from.")]
    public Conditioning? Empty { get; set; }

    /// <summary>The guidance scale.</summary>
    [Parameter(Description = "Guidance scale towards the positive.", Min = 0, Max = 100, Step = 0.1)]
    public double Scale { get; set; } = 8;

    /// <summary>The negative's weight.</summary>
    [Parameter(Description = "How strongly the negative's perpendicular part pushes away (0: plain guidance from the empty prompt).", Min = 0, Max = 100, Step = 0.01)]
    public double NegScale { get; set; } = 1;

    /// <summary>The guider.</summary>
    [Output(Description = "The guider.")]
    public IGuider? Guider { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        Guider = new PerpNegGuider(Denoiser!, Positive!, Negative!, Empty!, (float)Scale, (float)NegScale);
        return Task.CompletedTask;
    }
}
