namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>The token ids of a text, BOS and EOS included, with the vocabulary string of each id.</summary>
/// <param name="Ids">Token ids, BOS first and EOS last, neither truncated nor padded.</param>
/// <param name="Tokens">The vocabulary entry of each id (<c>photo&lt;/w&gt;</c>, <c>&lt;|startoftext|&gt;</c>).</param>
public sealed record ClipEncoding(IReadOnlyList<int> Ids, IReadOnlyList<string> Tokens);
