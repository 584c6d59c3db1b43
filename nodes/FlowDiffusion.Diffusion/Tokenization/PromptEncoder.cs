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
