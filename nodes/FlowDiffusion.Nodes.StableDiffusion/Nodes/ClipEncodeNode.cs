using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Encodes tokens with the CLIP text encoder.</summary>
[Node("clip.encode", "1.1.0", Category = "conditioning", Title = "Encode Prompt",
    Description = "Runs the text encoder on tokenized prompt windows and applies the prompt weights; windows are concatenated.")]
public sealed class ClipEncodeNode : INode
{
    /// <summary>The text encoder.</summary>
    [Input(Description = "The text encoder.")]
    public ITextEncoder? Clip { get; set; }

    /// <summary>The tokens.</summary>
    [Input(Description = "The tokenized prompt.")]
    public Tokens? Tokens { get; set; }

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
        Conditioning = await Clip!.EncodeAsync([Tokens!], ClipSkip, cancellationToken);
    }
}
