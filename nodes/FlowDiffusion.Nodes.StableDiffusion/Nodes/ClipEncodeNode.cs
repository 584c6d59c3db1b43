using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Encodes tokens with the CLIP text encoder.</summary>
[Node("clip.encode", "1.2.0", Category = "conditioning", Title = "Encode Prompt",
    Description = "Runs the text encoder on tokenized prompt windows and applies the prompt weights; windows are concatenated. SDXL: tokens_g gives the second text encoder a prompt of its own. An edited prompt (clip.tokenize's prompt_editing) is encoded once per text it takes; guidance.cfg uses the text of each step.")]
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
        if (TokensG is not null && ClipSkip != 1)
            throw new ArgumentException($"clip_skip {ClipSkip} with tokens_g: SDXL conditions on both text encoders' penultimate layers; leave clip_skip at 1.");
        if (Tokens!.Parts is not null || TokensG?.Parts is not null)
        {
            // A1111's AND: every sub-prompt (each text of an edited one) encoded and weighted for the guider's sum.
            if (TokensG is not null && !ReferenceEquals(TokensG, Tokens))
                throw new ArgumentException("tokens_g: a composed prompt (AND) feeds both SDXL text encoders; give clip.encode one prompt");
            var parts = new List<Conditioning>();
            foreach (var part in Tokens.Parts!)
            {
                foreach (var encoded in await EncodeEditedAsync(part.Tokens, null, cancellationToken))
                    parts.Add(encoded.With(PromptWeight.Key, new PromptWeight(part.Weight)));
            }

            Conditioning = CombinedConditionings.Join(parts);
            return;
        }

        Conditioning = CombinedConditionings.Join(await EncodeEditedAsync(Tokens, TokensG, cancellationToken));
    }

    // The conditioning of a prompt, or one per text of an edited prompt, each marked with its place in the schedule.
    private async Task<IReadOnlyList<Conditioning>> EncodeEditedAsync(Tokens tokens, Tokens? tokensG, CancellationToken cancellationToken)
    {
        var schedule = tokens.Schedule ?? tokensG?.Schedule;
        if (schedule is null) return [await EncodeAsync(tokens, tokensG, cancellationToken)];
        if (tokensG is not null && tokens.Schedule is not null && tokensG.Schedule is not null && !ReferenceEquals(tokens.Schedule, tokensG.Schedule))
            throw new ArgumentException("tokens and tokens_g are both edited prompts ([from:to:when], [a|b]); edit one of them, or feed one prompt to both");
        var parts = new List<Conditioning>(schedule.Variants.Count);
        for (var i = 0; i < schedule.Variants.Count; i++)
        {
            var variant = schedule.Variants[i];
            var encoded = await EncodeAsync(tokens.Schedule is null ? tokens : variant, tokensG is null ? null : tokensG.Schedule is null ? tokensG : variant, cancellationToken);
            parts.Add(encoded.With(PromptVariant.Key, new PromptVariant(schedule, i)));
        }

        return parts;
    }

    private Task<Conditioning> EncodeAsync(Tokens tokens, Tokens? tokensG, CancellationToken cancellationToken) => tokensG is null
        ? Clip!.EncodeAsync([tokens], ClipSkip, cancellationToken)
        : Clip!.EncodeAsync([tokens], [tokensG], cancellationToken);
}
