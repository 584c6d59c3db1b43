using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Scales a UNet's attention projections (ComfyUI's UNetSelfAttentionMultiply and UNetCrossAttentionMultiply).</summary>
[Node("unet.attention_multiply", "1.0.0", Category = "advanced/attention_experiments", Title = "Multiply UNet Attention",
    Description = "Multiplies the weights and biases of every self-attention (attn1) or cross-attention (attn2) to_q, to_k, to_v and to_out.0 by q, k, v and out, as ComfyUI's UNetSelfAttentionMultiply and UNetCrossAttentionMultiply patch them; all ones is the UNet unchanged.")]
public sealed class UNetAttentionMultiplyNode : INode
{
    /// <summary>The UNet.</summary>
    [Input(Description = "The UNet whose attention is scaled (its other overrides, a LoRA say, apply first).")]
    public IUNetModel? Unet { get; set; }

    /// <summary>Which attention.</summary>
    [Parameter(Description = "self: the attn1 projections (UNetSelfAttentionMultiply); cross: the attn2 projections, which read the text (UNetCrossAttentionMultiply).", Choices = ["self", "cross"])]
    public string Attention { get; set; } = "self";

    /// <summary>The query factor.</summary>
    [Parameter(Description = "What to_q's weight and bias are multiplied by.", Min = 0, Max = AttentionScaling.MaxFactor, Step = 0.01)]
    public double Q { get; set; } = 1;

    /// <summary>The key factor.</summary>
    [Parameter(Description = "What to_k's weight and bias are multiplied by.", Min = 0, Max = AttentionScaling.MaxFactor, Step = 0.01)]
    public double K { get; set; } = 1;

    /// <summary>The value factor.</summary>
    [Parameter(Description = "What to_v's weight and bias are multiplied by.", Min = 0, Max = AttentionScaling.MaxFactor, Step = 0.01)]
    public double V { get; set; } = 1;

    /// <summary>The output factor.</summary>
    [Parameter(Description = "What to_out.0's weight and bias are multiplied by.", Min = 0, Max = AttentionScaling.MaxFactor, Step = 0.01)]
    public double Out { get; set; } = 1;

    /// <summary>The scaled UNet.</summary>
    [Output(Description = "The UNet with the attention projections scaled.")]
    public IUNetModel? UnetOut { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        AttentionScaling.Check(Q, K, V, Out);
        if (Attention is not ("self" or "cross")) throw new ArgumentException($"attention must be self or cross; got '{Attention}'");
        var unet = Unet as OnnxUNetModel
            ?? throw new ArgumentException($"unet: this UNet ({Unet?.GetType().Name ?? "none"}) cannot take weight overrides, so its attention cannot be scaled.");
        var attention = Attention == "self" ? "attn1" : "attn2";
        var overrides = AttentionScaling.Overrides(MergeSource.Of(unet.Model).Weights,
            [($"{attention}.to_q", Q), ($"{attention}.to_k", K), ($"{attention}.to_v", V), ($"{attention}.to_out.0", Out)]);
        UnetOut = overrides.Count == 0 ? unet : unet.WithOverrides(overrides);
        return Task.CompletedTask;
    }
}
