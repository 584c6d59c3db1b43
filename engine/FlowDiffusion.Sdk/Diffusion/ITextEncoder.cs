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
}
