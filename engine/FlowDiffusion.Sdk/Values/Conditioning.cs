namespace FlowDiffusion.Sdk.Values;

/// <summary>
/// Conditioning: the text encoder's hidden states [batch, tokens, dim] with prompt weights applied, tokens
/// being 77 × the number of 77-token chunks, plus any <see cref="Extras"/> other models need (pooled embeddings,
/// time ids, a control image, image embeddings …). Immutable.
/// </summary>
[PortType("CONDITIONING", "#ffa931")]
public sealed class Conditioning
{
    private readonly float[] _embeddings;

    /// <summary>Wraps an embedding buffer; the conditioning takes ownership.</summary>
    /// <param name="batch">Number of prompts.</param>
    /// <param name="tokens">Sequence length.</param>
    /// <param name="dim">Embedding width.</param>
    /// <param name="embeddings">[batch, tokens, dim] values.</param>
    public Conditioning(int batch, int tokens, int dim, float[] embeddings)
        : this(batch, tokens, dim, embeddings, Extras.Empty)
    {
    }

    /// <summary>Wraps an embedding buffer with extras; the conditioning takes ownership of the buffer.</summary>
    /// <param name="batch">Number of prompts.</param>
    /// <param name="tokens">Sequence length.</param>
    /// <param name="dim">Embedding width.</param>
    /// <param name="embeddings">[batch, tokens, dim] values.</param>
    /// <param name="extras">Extra model inputs; a tensor extra has this batch or batch 1.</param>
    public Conditioning(int batch, int tokens, int dim, float[] embeddings, Extras extras)
    {
        TensorChecks.Positive(batch, nameof(batch));
        TensorChecks.Positive(tokens, nameof(tokens));
        TensorChecks.Positive(dim, nameof(dim));
        TensorChecks.Length(embeddings.Length, (long)batch * tokens * dim, "The conditioning");
        ArgumentNullException.ThrowIfNull(extras);
        Batch = batch;
        Tokens = tokens;
        Dim = dim;
        _embeddings = embeddings;
        Extras = extras;
    }

    /// <summary>Number of prompts.</summary>
    public int Batch { get; }

    /// <summary>Sequence length (77 per chunk).</summary>
    public int Tokens { get; }

    /// <summary>Embedding width.</summary>
    public int Dim { get; }

    /// <summary>[batch, tokens, dim] values.</summary>
    public ReadOnlySpan<float> Embeddings => _embeddings;

    /// <summary>Extra model inputs beside the text embeddings, by kind; empty for plain text conditioning.</summary>
    public Extras Extras { get; }

    /// <summary>Embeddings of one batch item, [tokens, dim].</summary>
    /// <param name="index">The batch index.</param>
    public ReadOnlySpan<float> EmbeddingsOf(int index) => _embeddings.AsSpan(index * Tokens * Dim, Tokens * Dim);

    /// <summary>A copy of the buffer.</summary>
    public float[] ToArray() => (float[])_embeddings.Clone();

    /// <summary>The same conditioning with <paramref name="value"/> stored under <paramref name="key"/> (the embeddings are shared, not copied).</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="key">The kind.</param>
    /// <param name="value">The value.</param>
    public Conditioning With<T>(ExtraKey<T> key, T value) where T : class => WithExtras(Extras.With(key, value));

    /// <summary>The same embeddings with other extras (the embeddings are shared, not copied).</summary>
    /// <param name="extras">The extras.</param>
    public Conditioning WithExtras(Extras extras) => new(Batch, Tokens, Dim, _embeddings, extras);

    /// <summary>
    /// The conditioning of one batched model call whose rows are filled by <paramref name="parts"/> in order (a CFG call:
    /// the negative's rows, then the positive's). A part of batch 1 repeats for each of its rows, a part of batch n fills
    /// n rows; a shorter prompt repeats its last 77-token window up to the longest; extras are combined per kind
    /// (<see cref="Extras.Combine"/>).
    /// </summary>
    /// <param name="parts">The conditionings and the rows each fills.</param>
    /// <exception cref="ArgumentException">Widths differ, a part's batch does not fit its rows, or an extra cannot be batched.</exception>
    public static Conditioning Batched(IReadOnlyList<ConditioningRows> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("Nothing to batch.", nameof(parts));
        var dim = parts[0].Conditioning.Dim;
        var tokens = 0;
        var rows = 0;
        foreach (var (part, count) in parts)
        {
            TensorChecks.Positive(count, "rows");
            if (part.Dim != dim)
                throw new ArgumentException($"the conditionings of one call have different widths ({dim} and {part.Dim}); were they encoded by different models?");
            if (part.Batch != 1 && part.Batch != count)
                throw new ArgumentException($"a conditioning of batch {part.Batch} cannot fill {count} rows; give it batch 1 or {count}");
            tokens = Math.Max(tokens, part.Tokens);
            rows += count;
        }
        var item = tokens * dim;
        var result = new float[(long)rows * item];
        var offset = 0;
        foreach (var (part, count) in parts)
        {
            for (var r = 0; r < count; r++, offset += item)
                part.WriteRow(r, result.AsSpan(offset, item));
        }
        var extras = Extras.Combine(parts.Select(p => (p.Conditioning.Extras, p.Rows)).ToList());
        return new Conditioning(rows, tokens, dim, result, extras);
    }

    // A shorter prompt repeats its last 77-token window up to the longer one's length.
    private void WriteRow(int row, Span<float> target)
    {
        var item = EmbeddingsOf(Batch == 1 ? 0 : row);
        item.CopyTo(target);
        var window = Math.Min(77, Tokens) * Dim;
        for (var offset = item.Length; offset < target.Length; offset += window)
            item[^window..].CopyTo(target[offset..]);
    }
}
