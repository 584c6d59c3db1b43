namespace FlowDiffusion.Checkpoints.Embeddings;

/// <summary>A textual-inversion embedding: <see cref="Count"/> token vectors of <see cref="Width"/> values each.</summary>
/// <param name="Name">The name prompts use: the file name without extension.</param>
/// <param name="Path">The file it was read from.</param>
/// <param name="Count">The number of vectors (tokens) the embedding stands for.</param>
/// <param name="Width">The values per vector (the text encoder's width).</param>
/// <param name="Vectors">The vectors, row-major [<see cref="Count"/>, <see cref="Width"/>].</param>
public sealed record TextualInversion(string Name, string Path, int Count, int Width, float[] Vectors);
