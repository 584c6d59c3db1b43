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
}
