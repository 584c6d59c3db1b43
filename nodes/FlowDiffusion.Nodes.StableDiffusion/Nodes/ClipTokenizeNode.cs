using FlowDiffusion.Diffusion.Tokenization;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Tokenizes a prompt with weights, in 77-token windows.</summary>
[Node("clip.tokenize", "1.0.0", Category = "conditioning", Title = "Tokenize Prompt",
    Description = "Splits a prompt into CLIP tokens with per-token weights: (word:1.3), (word) ×1.1, [word] ÷1.1; over 75 tokens makes several 77-token windows. A1111's [from:to:when] (when: a fraction of the steps if it has a decimal point, else a step), [to:when], [from::when] and [a|b] (alternating every step) change the text while sampling: each text is tokenized, clip.encode encodes each and guidance.cfg uses the one of the step. A1111's AND joins sub-prompts guided together (a trailing :weight weighs one).")]
public sealed class ClipTokenizeNode : INode
{
    /// <summary>The tokenizer.</summary>
    [Input(Description = "The model's tokenizer.")]
    public ITokenizer? Tokenizer { get; set; }

    /// <summary>The prompt.</summary>
    [Parameter(Description = "The prompt.", Multiline = true)]
    public string Text { get; set; } = "";

    /// <summary>Whose prompt syntax applies.</summary>
    [Parameter(Description = "a1111: (word:1.3), (word) ×1.1 and [word] ÷1.1 nesting by multiplying, BREAK, prompt editing [from:to:when] and alternation [a|b]; weights scale the hidden states and keep the window's mean. comfyui (what the ComfyUI layer uses): only round brackets weigh, (word:1.3) sets the weight, square brackets and BREAK are text, words move whole to the next window, and weights interpolate from the empty prompt's hidden states, as ComfyUI's CLIPTextEncode.",
        Choices = ["a1111", "comfyui"])]
    public string Syntax { get; set; } = "a1111";

    // The most text-encoder windows all the texts of one edited prompt may take.
    private const int MaxEditedWindows = 1024;

    /// <summary>The tokens.</summary>
    [Output(Description = "Token ids and weights.")]
    public Tokens? Tokens { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        // Hosts refuse longer text before a run starts; this keeps hosts that do not (and direct callers) bounded too.
        if (Text.Length > context.Limits.MaxPromptCharacters)
            throw new ArgumentException($"parameter 'text' is {Text.Length:N0} characters; prompts are limited to {context.Limits.MaxPromptCharacters:N0} (FlowDiffusion:MaxPromptCharacters)");
        if (Syntax == "comfyui")
        {
            Tokens = Tokenizer switch
            {
                ClipTokenizer clip => clip.Tokenize(Text, PromptSyntax.ComfyUI),
                EmbeddingTokenizer embedding => embedding.Tokenize(Text, PromptSyntax.ComfyUI),
                _ => throw new ArgumentException($"syntax comfyui needs a CLIP tokenizer loaded by model.load; this tokenizer ({Tokenizer?.GetType().Name}) reads a1111 only"),
            };
            return Task.CompletedTask;
        }

        var parts = PromptComposition.Split(Text);
        if (parts is [{ Weight: 1f }])
        {
            Tokens = Edited(Text, MaxEditedWindows);
            return Task.CompletedTask;
        }

        // A1111's AND (or a sub-prompt's :weight): each part tokenized, edited on its own; the windows bound shared.
        var composed = new List<PromptPart>(parts.Count);
        var budget = MaxEditedWindows;
        foreach (var (text, weight) in parts)
        {
            var tokens = Edited(text, budget);
            budget -= tokens.Schedule?.Variants.Sum(v => v.Chunks.Count) ?? tokens.Chunks.Count;
            composed.Add(new PromptPart(tokens, weight));
        }

        Tokens = composed[0].Tokens with { Text = Text, Schedule = null, Parts = composed };
        return Task.CompletedTask;
    }

    // One prompt tokenized, with its edits (A1111's [from:to:when], [a|b]) when it has any.
    private Tokens Edited(string text, int budget)
    {
        var editing = PromptEditing.Parse(text);
        if (editing is null)
        {
            var plain = Tokenizer!.Tokenize(text);
            return plain.Chunks.Count <= budget ? plain : throw TooManyWindows(1, plain.Chunks.Count + MaxEditedWindows - budget);
        }

        var variants = editing.Variants.Select(Tokenizer!.Tokenize).ToList();
        // clip.encode runs the text encoder once per window of every text: bound the work an edited prompt can ask for.
        var windows = variants.Sum(v => v.Chunks.Count);
        if (windows > budget) throw TooManyWindows(variants.Count, windows + MaxEditedWindows - budget);
        return variants[0] with { Text = text, Schedule = new PromptSchedule(variants, editing.VariantAt) };
    }

    private static ArgumentException TooManyWindows(int texts, int windows) =>
        new($"parameter 'text': the edited prompt takes {texts} texts of {windows} 77-token windows in all; at most {MaxEditedWindows} are encoded (shorten the prompt or its edits)");
}
