using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.TestConditioning;

/// <summary>
/// Wraps a denoiser: when the call carries <see cref="ExtraTokens.Key"/>, each row's extra tokens are appended to its text
/// context before the inner denoiser runs, and the kind is removed from what the inner denoiser sees.
/// </summary>
internal sealed class ExtraTokensDenoiser(IDenoiser inner) : IDenoiser
{
    public int InChannels => inner.InChannels;

    public int OutChannels => inner.OutChannels;

    // An LCM-distilled UNet under the wrapper still needs its guidance embedding: the guider asks the outermost denoiser.
    public int? GuidanceEmbeddingWidth => inner.GuidanceEmbeddingWidth;

    public Task<float[]> PredictAsync(DenoiserInput input, CancellationToken cancellationToken) =>
        inner.PredictAsync(Unwrap(input), cancellationToken);

    public Task PredictAsync(DenoiserInput input, Memory<float> prediction, CancellationToken cancellationToken) =>
        inner.PredictAsync(Unwrap(input), prediction, cancellationToken);

    private static DenoiserInput Unwrap(DenoiserInput input)
    {
        if (!input.Extras.TryGet(ExtraTokens.Key, out var tokens)) return input;
        var context = input.Context;
        var rows = input.Shape.Batch;
        if (tokens.Shape.Count != 3 || tokens.Shape[2] != context.Dim)
            throw new ArgumentException($"extra tokens are [{string.Join(", ", tokens.Shape)}]; this context needs [batch, n, {context.Dim}]");
        var added = tokens.Shape[1];
        var length = context.Tokens + added;
        var result = new float[rows * length * context.Dim];
        for (var r = 0; r < rows; r++)
        {
            var row = result.AsSpan(r * length * context.Dim, length * context.Dim);
            context.EmbeddingsOf(context.Batch == 1 ? 0 : r).CopyTo(row);
            tokens.ItemOf(r).CopyTo(row[(context.Tokens * context.Dim)..]);
        }
        var extras = input.Extras.Without(ExtraTokens.Key);
        return input with { Context = new Conditioning(rows, length, context.Dim, result, extras), Extras = extras };
    }
}
