using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>
/// Token merging, as ComfyUI's TomePatchModel: the UNet handle whose full-resolution self-attentions attend with a share of
/// their queries merged into similar neighbours, the token order computed for each call's latent size.
/// </summary>
[Node("unet.token_merge", "1.0.0", Category = "model_patches", Title = "Token Merging (ToMe)",
    Description = "Token merging for Stable Diffusion (ToMe, Bolya & Hoffman), as ComfyUI's TomePatchModel: in the self-attention of the UNet's full-resolution transformer blocks, ratio of the image's tokens are merged (averaged) into the most similar token of their 2×2 cell's neighbourhood before attention and copied back after it, so the attention runs on fewer queries: faster, and the image changes a little. SD 1.x and 2.x attend at full resolution; SDXL does not, so there (as in ComfyUI) nothing changes. Unlike ComfyUI, which picks each cell's kept token at random at every step, each cell keeps its top-left token, so the result is reproducible. Not combined with unet.hypertile. Needs a model model.load converted (builder version 15). Another unet.token_merge downstream replaces this ratio.")]
public sealed class UNetTokenMergeNode : INode
{
    /// <summary>The UNet.</summary>
    [Input(Description = "The UNet to patch (model.load's unet, or one lora.apply, unet.freeu or unet.deep_shrink changed).")]
    public IUNetModel? Unet { get; set; }

    /// <summary>ComfyUI's ratio.</summary>
    [Parameter(Description = "The share of the full-resolution tokens merged away, 0 … 1 (0: none, the plain UNet; at most every token that is not its cell's kept one).", Min = 0, Max = 1, Step = 0.01)]
    public double Ratio { get; set; } = 0.3;

    /// <summary>The UNet with token merging.</summary>
    [Output(Description = "The UNet with token merging applied at every step.")]
    public IUNetModel? UnetOut { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var settings = new TokenMerge(Ratio);
        if (settings.Problem() is { } problem) throw new ArgumentException(problem);
        var unet = Unet as OnnxUNetModel
            ?? throw new ArgumentException($"unet: this UNet ({Unet?.GetType().Name ?? "none"}) is not one model.load loaded, so token merging cannot be applied to it.");
        UnetOut = unet.WithTokenMerge(settings);
        return Task.CompletedTask;
    }
}
