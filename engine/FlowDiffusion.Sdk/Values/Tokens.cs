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
}
