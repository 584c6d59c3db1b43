namespace FlowDiffusion.Sdk.Values;

/// <summary>One window of a tokenized prompt: BOS, up to 75 tokens, EOS, padding, with a weight per position.</summary>
/// <param name="Ids">Token ids, exactly the encoder's window length (77 for CLIP).</param>
/// <param name="Weights">Prompt weights, one per id; 1 for BOS, EOS and padding.</param>
public sealed record TokenChunk(IReadOnlyList<int> Ids, IReadOnlyList<float> Weights);
