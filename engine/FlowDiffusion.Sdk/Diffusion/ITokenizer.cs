using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Sdk.Diffusion;

/// <summary>A model's text tokenizer (CLIP BPE for SD 1.x), with prompt-weight syntax.</summary>
[PortType("TOKENIZER", "#ce93d8")]
public interface ITokenizer
{
    /// <summary>Tokenizes a prompt into fixed-length windows with per-token weights.</summary>
    /// <param name="prompt">The prompt; <c>(word:1.3)</c>, <c>(word)</c> and <c>[word]</c> set weights.</param>
    Tokens Tokenize(string prompt);
}
