namespace FlowDiffusion.Sdk.Values;

/// <summary>
/// Text conditioning: the text encoder's hidden states [batch, tokens, dim] with prompt weights applied, tokens
/// being 77 × the number of 77-token chunks. Immutable.
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
    {
        TensorChecks.Positive(batch, nameof(batch));
        TensorChecks.Positive(tokens, nameof(tokens));
        TensorChecks.Positive(dim, nameof(dim));
        TensorChecks.Length(embeddings.Length, (long)batch * tokens * dim, "The conditioning");
        Batch = batch;
        Tokens = tokens;
        Dim = dim;
        _embeddings = embeddings;
    }

    /// <summary>Number of prompts.</summary>
    public int Batch { get; }

    /// <summary>Sequence length (77 per chunk).</summary>
    public int Tokens { get; }

    /// <summary>Embedding width.</summary>
    public int Dim { get; }

    /// <summary>[batch, tokens, dim] values.</summary>
    public ReadOnlySpan<float> Embeddings => _embeddings;

    /// <summary>Embeddings of one batch item, [tokens, dim].</summary>
    /// <param name="index">The batch index.</param>
    public ReadOnlySpan<float> EmbeddingsOf(int index) => _embeddings.AsSpan(index * Tokens * Dim, Tokens * Dim);

    /// <summary>A copy of the buffer.</summary>
    public float[] ToArray() => (float[])_embeddings.Clone();
}
