using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// CLIP text encoding with A1111-style prompt weights: each token's hidden state is scaled by its weight, then the
/// chunk is rescaled to keep its original mean (ComfyUI's weighting, <see cref="ComfyTokenWeights"/>, for tokens that
/// carry the empty window). Windows of 77 tokens are encoded and concatenated along the sequence;
/// prompts of a batch with fewer windows repeat their last window so all have the same length. Ids past the vocabulary
/// (textual-inversion embeddings) run on the encoder with the embeddings' vectors appended to its token table.
/// </summary>
internal sealed class OnnxTextEncoder(TextEncoder encoder, int padId, EmbeddingLibrary? embeddings = null) : ITextEncoder, IOverridableModel<ITextEncoder>
{
    private readonly Lock _lock = new();
    private readonly Lazy<TextEncoder>? _withEmbeddings = embeddings is null ? null : new(() => encoder.WithOverrides([embeddings!.Override()]));

    public TextEncoder Model => encoder;

    public int PadId => padId;

    public IReadOnlyList<WeightInfo> Weights => encoder.Weights;

    public WeightOverrides Overrides => encoder.Source.Overrides;

    public EmbeddingLibrary? Embeddings => embeddings;

    public ITextEncoder WithOverrides(IEnumerable<WeightOverride> overrides) => new OnnxTextEncoder(encoder.WithOverrides(overrides), padId, embeddings);

    /// <summary>This encoder with <paramref name="library"/>'s embeddings available to the ids past its vocabulary.</summary>
    public OnnxTextEncoder WithEmbeddings(EmbeddingLibrary? library) => new(encoder, padId, library);

    public Task<Conditioning> EncodeAsync(IReadOnlyList<Tokens> tokens, CancellationToken cancellationToken) =>
        EncodeAsync(tokens, 1, cancellationToken);

    public Task<Conditioning> EncodeAsync(IReadOnlyList<Tokens> tokens, int clipSkip, CancellationToken cancellationToken) =>
        Task.Run(() => Encode(tokens, clipSkip, cancellationToken), cancellationToken);

    private Conditioning Encode(IReadOnlyList<Tokens> prompts, int clipSkip, CancellationToken cancellationToken)
    {
        if (prompts.Count == 0) throw new ArgumentException("nothing to encode: no prompts were given");
        var chunks = prompts.Max(p => p.Chunks.Count);
        int window = prompts[0].Chunks[0].Ids.Count, dim = 0;
        float[]? result = null, empty = null;
        for (var b = 0; b < prompts.Count; b++)
        {
            for (var c = 0; c < chunks; c++)
            {
                var chunk = prompts[b].Chunks[Math.Min(c, prompts[b].Chunks.Count - 1)];
                var ids = chunk.Ids.ToArray();
                var model = embeddings is not null && ids.Any(id => id >= embeddings.FirstId) ? _withEmbeddings!.Value : encoder;
                FloatTensor hidden;
                lock (_lock)
                {
                    hidden = model.Encode(ids, 1, clipSkip, cancellationToken);
                }
                dim = hidden.Shape[^1];
                result ??= new float[prompts.Count * chunks * window * dim];
                var target = result.AsSpan((b * chunks + c) * window * dim, window * dim);
                hidden.Values.AsSpan(0, window * dim).CopyTo(target);
                if (prompts[b].EmptyWindow is not { } emptyWindow)
                {
                    ApplyWeights(target, chunk.Weights, dim);
                }
                else if (chunk.Weights.Any(w => w != 1f))
                {
                    if (empty is null)
                    {
                        if (emptyWindow.Ids.Count != window)
                            throw new ArgumentException($"the empty prompt's window has {emptyWindow.Ids.Count} tokens and the prompt's {window}; tokenize with the model's tokenizer");
                        lock (_lock)
                        {
                            empty = encoder.Encode([.. emptyWindow.Ids], 1, clipSkip, cancellationToken).Values[..(window * dim)];
                        }
                    }

                    ComfyTokenWeights.Apply(target, empty, chunk.Weights, 0, dim, dim);
                }
            }
        }
        return new Conditioning(prompts.Count, chunks * window, dim, result!);
    }

    internal static void ApplyWeights(Span<float> hidden, IReadOnlyList<float> weights, int dim)
    {
        if (weights.All(w => w == 1f)) return;
        double before = 0, after = 0;
        foreach (var v in hidden) before += v;
        for (var t = 0; t < weights.Count; t++)
        {
            var row = hidden.Slice(t * dim, dim);
            for (var i = 0; i < dim; i++) row[i] *= weights[t];
        }
        foreach (var v in hidden) after += v;
        if (after == 0) return;
        var scale = (float)(before / after);
        for (var i = 0; i < hidden.Length; i++) hidden[i] *= scale;
    }
}
