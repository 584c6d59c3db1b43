using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Scales a text encoder's self-attention projections (ComfyUI's CLIPAttentionMultiply).</summary>
[Node("clip.attention_multiply", "1.0.0", Category = "advanced/attention_experiments", Title = "Multiply Text Encoder Attention",
    Description = "Multiplies the weights and biases of every self_attn.q_proj, k_proj, v_proj and out_proj by q, k, v and out (SDXL: in both towers), as ComfyUI's CLIPAttentionMultiply patches them; all ones is the encoder unchanged.")]
public sealed class ClipAttentionMultiplyNode : INode
{
    /// <summary>The text encoder.</summary>
    [Input(Description = "The text encoder whose attention is scaled (its other overrides, a LoRA say, apply first).")]
    public ITextEncoder? Clip { get; set; }

    /// <summary>The query factor.</summary>
    [Parameter(Description = "What q_proj's weight and bias are multiplied by.", Min = 0, Max = AttentionScaling.MaxFactor, Step = 0.01)]
    public double Q { get; set; } = 1;

    /// <summary>The key factor.</summary>
    [Parameter(Description = "What k_proj's weight and bias are multiplied by.", Min = 0, Max = AttentionScaling.MaxFactor, Step = 0.01)]
    public double K { get; set; } = 1;

    /// <summary>The value factor.</summary>
    [Parameter(Description = "What v_proj's weight and bias are multiplied by.", Min = 0, Max = AttentionScaling.MaxFactor, Step = 0.01)]
    public double V { get; set; } = 1;

    /// <summary>The output factor.</summary>
    [Parameter(Description = "What out_proj's weight and bias are multiplied by.", Min = 0, Max = AttentionScaling.MaxFactor, Step = 0.01)]
    public double Out { get; set; } = 1;

    /// <summary>The scaled text encoder.</summary>
    [Output(Description = "The text encoder with the attention projections scaled.")]
    public ITextEncoder? ClipOut { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        AttentionScaling.Check(Q, K, V, Out);
        (string, double)[] projections = [("self_attn.q_proj", Q), ("self_attn.k_proj", K), ("self_attn.v_proj", V), ("self_attn.out_proj", Out)];
        ClipOut = Clip switch
        {
            _ when Q == 1 && K == 1 && V == 1 && Out == 1 => Clip,
            OnnxTextEncoder one => one.WithOverrides(AttentionScaling.Overrides(MergeSource.Of(one.Model).Weights, projections)),
            SdxlTextEncoder two => two.WithOverrides(two.First is null ? [] : AttentionScaling.Overrides(MergeSource.Of(two.First).Weights, projections),
                AttentionScaling.Overrides(MergeSource.Of(two.Second).Weights, projections)),
            _ => throw new ArgumentException($"clip: this text encoder ({Clip?.GetType().Name ?? "none"}) cannot take weight overrides, so its attention cannot be scaled."),
        };
        return Task.CompletedTask;
    }
}
