namespace FlowDiffusion.Sdk.Values;

/// <summary>
/// A tokenized prompt: one or more fixed-length windows whose encodings are concatenated along the sequence.
/// </summary>
/// <param name="Text">The prompt as written (weights syntax included).</param>
/// <param name="Chunks">The windows, at least one.</param>
[PortType("TOKENS", "#b39ddb")]
public sealed record Tokens(string Text, IReadOnlyList<TokenChunk> Chunks)
{
    /// <summary>
    /// For a prompt that changes while sampling (A1111's prompt editing and alternation), its texts and when each applies;
    /// <see cref="Chunks"/> are then the first step's text. Null for a prompt that stays the same.
    /// </summary>
    public PromptSchedule? Schedule { get; init; }

    /// <summary>
    /// Set when the weights are ComfyUI's: the empty prompt's window, from whose hidden states a text encoder interpolates
    /// each weighted token's (e + w·(h − e)). Null: A1111's weighting (each hidden state scaled by its weight, then the
    /// window's mean restored).
    /// </summary>
    public TokenChunk? EmptyWindow { get; init; }

    /// <summary>
    /// For a composed prompt (A1111's <c>AND</c>, or a weight after a trailing colon), its sub-prompts and their weights;
    /// <see cref="Chunks"/> are then the first's. Null for a prompt guided as one.
    /// </summary>
    public IReadOnlyList<PromptPart>? Parts { get; init; }
}
