using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>A model's text encoder (the CLIP text transformer for SD 1.x).</summary>
[PortType("CLIP", "#ffd500")]
public interface ITextEncoder
{
    /// <summary>Encodes tokenized prompts, applying their weights; windows are concatenated along the sequence.</summary>
    /// <param name="tokens">One tokenized prompt per batch item.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    Task<Conditioning> EncodeAsync(IReadOnlyList<Tokens> tokens, CancellationToken cancellationToken);

    /// <summary>
    /// Encodes tokenized prompts from the hidden states <paramref name="clipSkip"/> layers from the end ("CLIP skip" as
    /// A1111 and ComfyUI define it: 1 = the last layer, 2 = the penultimate layer, each through the final layer norm),
    /// applying their weights. Encoders that only give the last layer keep this default, which refuses other values.
    /// </summary>
    /// <param name="tokens">One tokenized prompt per batch item.</param>
    /// <param name="clipSkip">1 for the last layer (what <see cref="EncodeAsync(IReadOnlyList{Tokens}, CancellationToken)"/> gives), 2 for the penultimate.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <exception cref="NotSupportedException">The encoder cannot give the layer <paramref name="clipSkip"/> asks for.</exception>
    Task<Conditioning> EncodeAsync(IReadOnlyList<Tokens> tokens, int clipSkip, CancellationToken cancellationToken) =>
        clipSkip == 1
            ? EncodeAsync(tokens, cancellationToken)
            : throw new NotSupportedException($"This text encoder ({GetType().Name}) gives the last layer only (clip_skip 1), not clip_skip {clipSkip}.");

    /// <summary>
    /// Encodes with a separate prompt per text encoder, for models with two (SDXL: <paramref name="tokens"/> feeds CLIP ViT-L,
    /// <paramref name="secondTokens"/> OpenCLIP ViT-bigG, which also gives the pooled output — ComfyUI's <c>text_l</c> and
    /// <c>text_g</c>); the towers' hidden states are concatenated per token, so where the two prompts need different numbers
    /// of windows the shorter is padded with empty-prompt windows, as ComfyUI does. Encoders with one tower keep this
    /// default, which refuses.
    /// </summary>
    /// <param name="tokens">One tokenized prompt per batch item, for the first encoder.</param>
    /// <param name="secondTokens">One tokenized prompt per batch item, for the second encoder.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <exception cref="NotSupportedException">The encoder has one tower.</exception>
    Task<Conditioning> EncodeAsync(IReadOnlyList<Tokens> tokens, IReadOnlyList<Tokens> secondTokens, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"This text encoder ({GetType().Name}) has one tower, so it takes one prompt; a second prompt (tokens_g) is for SDXL base models.");
}
