using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Encodes tokens with the CLIP text encoder.</summary>
[Node("clip.encode", "1.2.0", Category = "conditioning", Title = "Encode Prompt",
    Description = "Runs the text encoder on tokenized prompt windows and applies the prompt weights; windows are concatenated. SDXL: tokens_g gives the second text encoder a prompt of its own.")]
public sealed class ClipEncodeNode : INode
{
    /// <summary>The text encoder.</summary>
    [Input(Description = "The text encoder.")]
    public ITextEncoder? Clip { get; set; }

    /// <summary>The tokens.</summary>
    [Input(Description = "The tokenized prompt.")]
    public Tokens? Tokens { get; set; }

    /// <summary>SDXL: a prompt of its own for the second text encoder (ComfyUI's text_g).</summary>
    [Input(Description = "SDXL base only: the tokenized prompt for the OpenCLIP ViT-bigG encoder (ComfyUI's text_g), which also gives the pooled text_embeds; "
        + "tokens then feeds CLIP ViT-L alone (text_l). Unconnected: tokens feeds both. A prompt needing fewer 77-token windows than the other is padded with empty-prompt windows, as ComfyUI does.",
        Optional = true)]
    public Tokens? TokensG { get; set; }

    /// <summary>Which layer's hidden states to take, counted from the end (CLIP skip as A1111 and ComfyUI define it).</summary>
    [Parameter(Description = "CLIP skip: 1 = the last layer, 2 = the penultimate layer then the final layer norm (A1111's \"CLIP skip 2\", ComfyUI's CLIP Set Last Layer -2). "
        + "2 needs a text encoder built from a checkpoint (model.load of a .safetensors file, or flowdiffusion import).", Min = 1, Max = 12)]
    public int ClipSkip { get; set; } = 1;

    /// <summary>The conditioning.</summary>
    [Output(Description = "Hidden states [1, 77·windows, dim].")]
    public Conditioning? Conditioning { get; set; }

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        using var clock = OnnxClock.Attribute(context);
        if (TokensG is null)
        {
            Conditioning = await Clip!.EncodeAsync([Tokens!], ClipSkip, cancellationToken);
            return;
        }

        if (ClipSkip != 1)
            throw new ArgumentException($"clip_skip {ClipSkip} with tokens_g: SDXL conditions on both text encoders' penultimate layers; leave clip_skip at 1.");
        Conditioning = await Clip!.EncodeAsync([Tokens!], [TokensG], cancellationToken);
    }
}
