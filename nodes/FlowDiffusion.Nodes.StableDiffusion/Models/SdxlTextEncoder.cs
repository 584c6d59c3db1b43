using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Diffusion.Tokenization;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// SDXL's text conditioning from its two towers: each 77-token window goes through CLIP ViT-L and OpenCLIP ViT-bigG,
/// whose penultimate hidden states are concatenated on the feature axis (768 + 1280 = 2048 at full size) and weighted
/// A1111-style like SD 1.x's; the second tower's projected pooled output of the first window is carried as the
/// <see cref="StandardExtras.PooledText"/> extra (<c>text_embeds</c>). The second tower sees the ids padded with 0 after
/// the end-of-text token, as SGM's OpenCLIP embedder (and ComfyUI's) pads them. The refiner has no first tower: its context
/// is OpenCLIP's penultimate hidden states alone (1280 wide at full size). The towers may take different prompts (ComfyUI's
/// text_l and text_g): the pooled output then comes from the second's, and the prompt needing fewer windows is padded with
/// <paramref name="emptyWindow"/> (the empty prompt's window) to the other's count, as ComfyUI's CLIPTextEncodeSDXL pads it.
/// </summary>
internal sealed class SdxlTextEncoder(TextEncoder? first, TextEncoder second, int endId, TokenChunk emptyWindow, EmbeddingLibrary? embeddings = null) : ITextEncoder
{
    // Textual inversion: ids past the vocabulary run on towers whose token tables carry the embeddings' vectors.
    private readonly Lazy<TextEncoder>? _firstWithEmbeddings = embeddings is { } tables && first is { } one ? new(() => one.WithOverrides([tables.Override(0)])) : null;
    private readonly Lazy<TextEncoder>? _secondWithEmbeddings = embeddings is { } tables2 ? new(() => second.WithOverrides([tables2.Override(first is null ? 0 : 1)])) : null;
    private readonly string[] _firstOutputs = first is null ? [] : [first.RequireSdxlContextOutput()];
    private readonly string[] _secondOutputs = [second.RequireSdxlContextOutput(), "text_embeds"];
    private readonly Lock _lock = new();

    /// <summary>
    /// The encoder of the towers at <paramref name="firstPath"/> (CLIP ViT-L; null for the refiner) and <paramref name="secondPath"/>
    /// (OpenCLIP ViT-bigG), with <paramref name="tokenizer"/>'s end-of-text id and empty-prompt window: a model folder's or a standalone SDXL CLIP's.
    /// </summary>
    public static SdxlTextEncoder Open(OnnxSessionCache sessions, string? firstPath, string secondPath, ClipTokenizer tokenizer, OnnxSessionOptions options) =>
        new(firstPath is null ? null : TextEncoder.Open(sessions, firstPath, options), TextEncoder.Open(sessions, secondPath, options), tokenizer.EosId, tokenizer.Tokenize("").Chunks[0]);

    /// <summary>The first tower (CLIP ViT-L), or null for the refiner.</summary>
    public TextEncoder? First => first;

    /// <summary>The second tower (OpenCLIP ViT-bigG with the pooled projection).</summary>
    public TextEncoder Second => second;

    /// <summary>This encoder with <paramref name="firstOverrides"/> on the first tower and <paramref name="secondOverrides"/> on the second (a LoRA's te1 and te2 modules).</summary>
    public SdxlTextEncoder WithOverrides(IEnumerable<WeightOverride> firstOverrides, IEnumerable<WeightOverride> secondOverrides) =>
        new(first?.WithOverrides(firstOverrides), second.WithOverrides(secondOverrides), endId, emptyWindow, embeddings);

    /// <summary>The embeddings ids past the vocabulary name (<see cref="EmbeddingLibrary.ForSdxl"/>).</summary>
    public EmbeddingLibrary? Embeddings => embeddings;

    /// <summary>This encoder with <paramref name="library"/>'s embeddings available to the ids past its vocabulary.</summary>
    public SdxlTextEncoder WithEmbeddings(EmbeddingLibrary? library) => new(first, second, endId, emptyWindow, library);

    public Task<Conditioning> EncodeAsync(IReadOnlyList<Tokens> tokens, CancellationToken cancellationToken) =>
        Task.Run(() => Encode(tokens, tokens, cancellationToken), cancellationToken);

    public Task<Conditioning> EncodeAsync(IReadOnlyList<Tokens> tokens, IReadOnlyList<Tokens> secondTokens, CancellationToken cancellationToken)
    {
        if (first is null)
            throw new NotSupportedException("the SDXL refiner has one text encoder (OpenCLIP ViT-bigG), so it takes one prompt; leave tokens_g unconnected.");
        if (tokens.Count != secondTokens.Count)
            throw new ArgumentException($"tokens has {tokens.Count} prompts and tokens_g {secondTokens.Count}; give each text encoder one prompt per batch item.");
        var windows = tokens.Concat(secondTokens).SelectMany(p => p.Chunks).Append(emptyWindow).Select(c => c.Ids.Count).Distinct().ToList();
        if (windows.Count > 1)
            throw new ArgumentException($"tokens and tokens_g have windows of {string.Join(" and ", windows)} tokens; tokenize both prompts with the model's tokenizer.");
        var padded = tokens.Zip(secondTokens, (l, g) => (L: Padded(l, g.Chunks.Count), G: Padded(g, l.Chunks.Count))).ToList();
        return Task.Run(() => Encode([.. padded.Select(p => p.L)], [.. padded.Select(p => p.G)], cancellationToken), cancellationToken);
    }

    // A prompt with fewer windows than the other tower's gets empty-prompt windows appended (ComfyUI: tokens += tokenize("")).
    private Tokens Padded(Tokens prompt, int windows) => prompt.Chunks.Count >= windows
        ? prompt
        : prompt with { Chunks = [.. prompt.Chunks, .. Enumerable.Repeat(emptyWindow, windows - prompt.Chunks.Count)] };

    public Task<Conditioning> EncodeAsync(IReadOnlyList<Tokens> tokens, int clipSkip, CancellationToken cancellationToken) => clipSkip == 1
        ? EncodeAsync(tokens, cancellationToken)
        : throw new NotSupportedException($"clip_skip {clipSkip}: SDXL already conditions on both text encoders' penultimate layers; leave clip_skip at 1.");

    // prompts feeds the first tower, secondPrompts the second (the same list when both take one prompt); item b's two
    // prompts have the same number of windows.
    private Conditioning Encode(IReadOnlyList<Tokens> prompts, IReadOnlyList<Tokens> secondPrompts, CancellationToken cancellationToken)
    {
        if (prompts.Count == 0) throw new ArgumentException("nothing to encode: no prompts were given");
        var chunks = prompts.Max(p => p.Chunks.Count);
        int window = prompts[0].Chunks[0].Ids.Count, dim = 0, pooledWidth = 0;
        float[]? result = null, pooled = null, emptyFirst = null, emptySecond = null;
        for (var b = 0; b < prompts.Count; b++)
        {
            for (var c = 0; c < chunks; c++)
            {
                var chunk = prompts[b].Chunks[Math.Min(c, prompts[b].Chunks.Count - 1)];
                var chunk2 = secondPrompts[b].Chunks[Math.Min(c, secondPrompts[b].Chunks.Count - 1)];
                var ids = chunk.Ids.ToArray();
                var ids2 = PadAfterEnd([.. chunk2.Ids]);
                FloatTensor[]? a = null;
                FloatTensor[] s;
                lock (_lock)
                {
                    var one = HasEmbeddingIds(ids) ? _firstWithEmbeddings?.Value : first;
                    var two = HasEmbeddingIds(ids2) ? _secondWithEmbeddings!.Value : second;
                    a = one?.EncodeOutputs(ids, 1, _firstOutputs, cancellationToken);
                    s = two.EncodeOutputs(ids2, 1, _secondOutputs, cancellationToken);
                }
                int w1 = a?[0].Shape[^1] ?? 0, w2 = s[0].Shape[^1];
                dim = w1 + w2;
                pooledWidth = s[1].Shape[^1];
                result ??= new float[prompts.Count * chunks * window * dim];
                pooled ??= new float[prompts.Count * pooledWidth];
                var target = result.AsSpan((b * chunks + c) * window * dim, window * dim);
                for (var t = 0; t < window; t++)
                {
                    a?[0].Values.AsSpan(t * w1, w1).CopyTo(target.Slice(t * dim, w1));
                    s[0].Values.AsSpan(t * w2, w2).CopyTo(target.Slice((t * dim) + w1, w2));
                }
                if (prompts[b].EmptyWindow is null || secondPrompts[b].EmptyWindow is null)
                {
                    ApplyWeights(target, chunk.Weights, chunk2.Weights, w1, dim);
                }
                else
                {
                    // ComfyUI's weighting, each tower against its own encoding of the empty prompt.
                    if (emptySecond is null && (chunk.Weights.Any(w => w != 1f) || chunk2.Weights.Any(w => w != 1f)))
                    {
                        lock (_lock)
                        {
                            emptyFirst = first?.EncodeOutputs([.. prompts[b].EmptyWindow!.Ids], 1, _firstOutputs, cancellationToken)[0].Values[..(window * w1)];
                            emptySecond = second.EncodeOutputs(PadAfterEnd([.. secondPrompts[b].EmptyWindow!.Ids]), 1, _secondOutputs, cancellationToken)[0].Values[..(window * w2)];
                        }
                    }

                    if (emptyFirst is not null) ComfyTokenWeights.Apply(target, emptyFirst, chunk.Weights, 0, w1, dim);
                    if (emptySecond is not null) ComfyTokenWeights.Apply(target, emptySecond, chunk2.Weights, w1, w2, dim);
                }
                if (c == 0)
                {
                    s[1].Values.AsSpan(0, pooledWidth).CopyTo(pooled.AsSpan(b * pooledWidth, pooledWidth));
                }
            }
        }
        var extras = Extras.Empty.With(StandardExtras.PooledText, new ExtraTensor([prompts.Count, pooledWidth], pooled!));
        return new Conditioning(prompts.Count, chunks * window, dim, result!, extras);
    }

    private bool HasEmbeddingIds(int[] ids) => embeddings is not null && ids.Any(id => id >= embeddings.FirstId);

    // A1111's weighting (OnnxTextEncoder.ApplyWeights) with each tower's features scaled by its own prompt's weights: the
    // first `width` features of each token by `weights`, the rest by `secondWeights`; then the window's mean is restored.
    private static void ApplyWeights(Span<float> hidden, IReadOnlyList<float> weights, IReadOnlyList<float> secondWeights, int width, int dim)
    {
        if (weights.All(w => w == 1f) && secondWeights.All(w => w == 1f)) return;
        double before = 0, after = 0;
        foreach (var v in hidden) before += v;
        for (var t = 0; t < weights.Count; t++)
        {
            var row = hidden.Slice(t * dim, dim);
            for (var i = 0; i < width; i++) row[i] *= weights[t];
            for (var i = width; i < dim; i++) row[i] *= secondWeights[t];
        }
        foreach (var v in hidden) after += v;
        if (after == 0) return;
        var scale = (float)(before / after);
        for (var i = 0; i < hidden.Length; i++) hidden[i] *= scale;
    }

    private int[] PadAfterEnd(int[] ids)
    {
        var padded = (int[])ids.Clone();
        var end = Array.IndexOf(padded, endId);
        if (end >= 0)
        {
            Array.Fill(padded, 0, end + 1, padded.Length - end - 1);
        }
        return padded;
    }
}
