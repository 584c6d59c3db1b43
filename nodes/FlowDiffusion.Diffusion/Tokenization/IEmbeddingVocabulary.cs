namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// The textual-inversion embeddings a prompt may name, and the token ids each stands for (ids past the CLIP
/// vocabulary, which the text encoder maps to the embedding's vectors).
/// </summary>
public interface IEmbeddingVocabulary
{
    /// <summary>The embedding names (file names without extension).</summary>
    IReadOnlyCollection<string> Names { get; }

    /// <summary>The ids <paramref name="name"/> expands to, one per vector.</summary>
    /// <exception cref="ArgumentException">No embedding has that name, or it cannot be read; the message says which and where.</exception>
    IReadOnlyList<int> IdsOf(string name);
}
