namespace FlowDiffusion.Sdk.Values;

/// <summary>One sub-prompt of a composed prompt (AUTOMATIC1111's <c>AND</c>), with its weight in the guidance.</summary>
/// <param name="Tokens">The sub-prompt, tokenized (its own <see cref="Tokens.Schedule"/> when it is edited).</param>
/// <param name="Weight">Its weight: the guider adds weight × scale × (its prediction − the unconditional one).</param>
public sealed record PromptPart(Tokens Tokens, float Weight);
