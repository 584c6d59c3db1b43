using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// A prompt as text-encoder input: one or more windows of exactly the tokenizer's window length (BOS, up to 75
/// tokens, EOS, padding), each id with its prompt weight (1 for BOS, EOS and padding). Immutable.
/// </summary>
/// <param name="Chunks">The windows, at least one, in prompt order.</param>
public sealed record TokenizedPrompt(IReadOnlyList<TokenChunk> Chunks)
{
    /// <summary>The ids of every window, concatenated.</summary>
    public IEnumerable<int> AllIds => Chunks.SelectMany(chunk => chunk.Ids);

    /// <summary>The weights of every window, concatenated.</summary>
    public IEnumerable<float> AllWeights => Chunks.SelectMany(chunk => chunk.Weights);
}
