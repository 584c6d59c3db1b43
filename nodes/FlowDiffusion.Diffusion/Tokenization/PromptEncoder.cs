using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// Turns a weighted prompt into text-encoder windows: each <see cref="PromptWeighting"/> segment is tokenized on
/// its own, its tokens carry its weight, and every <c>MaxLength − 2</c> tokens (or a <c>BREAK</c>) start a new
/// window, as A1111 and ComfyUI do for long prompts.
/// </summary>
public sealed class PromptEncoder
{
    private readonly ClipTokenizer _tokenizer;
    private readonly IEmbeddingVocabulary? _embeddings;

    /// <summary>Creates an encoder over <paramref name="tokenizer"/>'s vocabulary and window length.</summary>
    public PromptEncoder(ClipTokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>
    /// Creates an encoder that also expands textual-inversion references (<c>embedding:name</c> and bare names, see
    /// <see cref="EmbeddingReferences"/>) into <paramref name="embeddings"/>' ids; a multi-vector embedding that would
    /// straddle a window starts the next one, as A1111 does.
    /// </summary>
    public PromptEncoder(ClipTokenizer tokenizer, IEmbeddingVocabulary? embeddings)
    {
        _tokenizer = tokenizer;
        _embeddings = embeddings;
    }

    /// <summary>Tokenizes <paramref name="prompt"/> in <paramref name="syntax"/>; the empty prompt gives one window of BOS, EOS and padding.</summary>
    public TokenizedPrompt Encode(string prompt, PromptSyntax syntax) => syntax == PromptSyntax.ComfyUI ? EncodeComfy(prompt) : Encode(prompt);

    /// <summary>The window of the empty prompt: BOS, EOS and padding (what ComfyUI weighs tokens against).</summary>
    public TokenChunk EmptyWindow() => Window([], []);

    /// <summary>Tokenizes <paramref name="prompt"/>; the empty prompt gives one window of BOS, EOS and padding.</summary>
    public TokenizedPrompt Encode(string prompt)
    {
        var capacity = _tokenizer.MaxLength - 2;
        var chunks = new List<TokenChunk>();
        var ids = new List<int>(capacity);
        var weights = new List<float>(capacity);
        foreach (var (text, weight) in PromptWeighting.Parse(prompt))
        {
            if (weight == PromptWeighting.BreakWeight && text == PromptWeighting.BreakText)
            {
                chunks.Add(Window(ids, weights));
                continue;
            }
            if (_embeddings is null)
            {
                Add(_tokenizer.EncodeWithoutSpecialTokens(text), weight, chunks, ids, weights, capacity);
                continue;
            }
            foreach (var (part, isEmbedding) in EmbeddingReferences.Split(text, _embeddings.Names))
            {
                if (!isEmbedding)
                {
                    Add(_tokenizer.EncodeWithoutSpecialTokens(part), weight, chunks, ids, weights, capacity);
                    continue;
                }
                var vectors = _embeddings.IdsOf(part);
                if (ids.Count > 0 && ids.Count + vectors.Count > capacity && vectors.Count <= capacity)
                    chunks.Add(Window(ids, weights));
                Add(vectors, weight, chunks, ids, weights, capacity);
            }
        }
        if (ids.Count > 0 || chunks.Count == 0)
            chunks.Add(Window(ids, weights));
        return new TokenizedPrompt(chunks.AsReadOnly());
    }

    // ComfyUI's tokenize_with_weights: its weight syntax; each space-separated word tokenized on its own ("embedding:NAME"
    // words are embeddings); a word that does not fit the window moves whole to the next one (the rest padded), unless it
    // has 8 tokens or more, which are split.
    private TokenizedPrompt EncodeComfy(string prompt)
    {
        const int LargeWord = 8;
        var capacity = _tokenizer.MaxLength - 2;
        var chunks = new List<TokenChunk>();
        var ids = new List<int>(capacity);
        var weights = new List<float>(capacity);
        foreach (var (text, weight) in ComfyPromptWeighting.Parse(prompt))
        {
            foreach (var word in text.Replace('\n', ' ').Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                foreach (var group in ComfyWordTokens(word))
                {
                    var large = group.Count >= LargeWord;
                    var tokens = group;
                    while (tokens.Count > 0)
                    {
                        if (tokens.Count + ids.Count > capacity)
                        {
                            if (large)
                            {
                                var remaining = capacity - ids.Count;
                                ids.AddRange(tokens.Take(remaining));
                                weights.AddRange(Enumerable.Repeat(weight, remaining));
                                tokens = [.. tokens.Skip(remaining)];
                            }

                            chunks.Add(Window(ids, weights));
                        }
                        else
                        {
                            ids.AddRange(tokens);
                            weights.AddRange(Enumerable.Repeat(weight, tokens.Count));
                            tokens = [];
                        }
                    }
                }
            }
        }

        chunks.Add(Window(ids, weights));
        return new TokenizedPrompt(chunks.AsReadOnly());
    }

    // The token groups of one ComfyUI word: an embedding (and any text left after its name), or the word's tokens.
    private IEnumerable<IReadOnlyList<int>> ComfyWordTokens(string word)
    {
        const string Identifier = "embedding:";
        if (_embeddings is not null && word.StartsWith(Identifier, StringComparison.Ordinal))
        {
            var name = word[Identifier.Length..];
            var leftover = "";
            if (!_embeddings.Names.Contains(name) && name.TrimEnd(',') is var stripped && stripped.Length < name.Length && _embeddings.Names.Contains(stripped))
                (name, leftover) = (stripped, name[stripped.Length..]);
            if (_embeddings.Names.Contains(name)) yield return _embeddings.IdsOf(name);
            if (leftover.Length == 0) yield break;
            word = leftover;
        }

        yield return _tokenizer.EncodeWithoutSpecialTokens(word);
    }

    private void Add(IReadOnlyList<int> tokens, float weight, List<TokenChunk> chunks, List<int> ids, List<float> weights, int capacity)
    {
        foreach (var id in tokens)
        {
            if (ids.Count == capacity)
                chunks.Add(Window(ids, weights));
            ids.Add(id);
            weights.Add(weight);
        }
    }

    // Builds BOS, tokens, EOS, padding and empties the buffers for the next window.
    private TokenChunk Window(List<int> ids, List<float> weights)
    {
        var length = _tokenizer.MaxLength;
        var windowIds = new int[length];
        var windowWeights = new float[length];
        Array.Fill(windowIds, _tokenizer.PadId);
        Array.Fill(windowWeights, 1f);
        windowIds[0] = _tokenizer.BosId;
        ids.CopyTo(windowIds, 1);
        weights.CopyTo(windowWeights, 1);
        windowIds[ids.Count + 1] = _tokenizer.EosId;
        ids.Clear();
        weights.Clear();
        return new TokenChunk(Array.AsReadOnly(windowIds), Array.AsReadOnly(windowWeights));
    }
}
