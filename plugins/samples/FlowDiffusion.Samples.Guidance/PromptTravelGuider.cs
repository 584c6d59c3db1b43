using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Samples.Guidance;

/// <summary>
/// Classifier-free guidance whose positive conditioning travels from one prompt to another: at evaluation k of n
/// it is lerp(from, to, k/(n − 1)). Negative and positive run as one batch when their lengths agree.
/// </summary>
internal sealed class PromptTravelGuider(IDenoiser denoiser, Conditioning from, Conditioning to, Conditioning negative, float scale) : IGuider
{
    public int InChannels => denoiser.InChannels;

    /// <summary>How far along the travel evaluation <paramref name="step"/> of <paramref name="total"/> is, 0 to 1.</summary>
    public static float Progress(int step, int total) => total > 1 ? Math.Clamp((float)step / (total - 1), 0f, 1f) : 1f;

    public async Task<float[]> PredictAsync(GuidanceInput input, CancellationToken cancellationToken)
    {
        var positive = Lerp(from, to, Progress(input.Step, input.TotalSteps));
        var shape = input.Shape;
        if (scale == 1f)
            return await denoiser.PredictAsync(new DenoiserInput(input.ModelInput, shape, input.Timestep, positive), cancellationToken);

        float[] unconditional, conditional;
        if (negative.Tokens == positive.Tokens && negative.Batch == positive.Batch)
        {
            var doubled = new float[2 * shape.Length];
            input.ModelInput.Span.CopyTo(doubled);
            input.ModelInput.Span.CopyTo(doubled.AsSpan(shape.Length));
            var both = await denoiser.PredictAsync(
                new DenoiserInput(doubled, shape.WithBatch(2 * shape.Batch), input.Timestep, Stack(negative, positive, shape.Batch)), cancellationToken);
            unconditional = both[..shape.Length];
            conditional = both[shape.Length..];
        }
        else
        {
            unconditional = await denoiser.PredictAsync(new DenoiserInput(input.ModelInput, shape, input.Timestep, negative), cancellationToken);
            conditional = await denoiser.PredictAsync(new DenoiserInput(input.ModelInput, shape, input.Timestep, positive), cancellationToken);
        }
        for (var i = 0; i < unconditional.Length; i++)
            unconditional[i] += scale * (conditional[i] - unconditional[i]);
        return unconditional;
    }

    private static Conditioning Lerp(Conditioning a, Conditioning b, float t)
    {
        if (t <= 0) return a;
        if (t >= 1) return b;
        var x = a.Embeddings;
        var y = b.Embeddings;
        var mixed = new float[x.Length];
        for (var i = 0; i < mixed.Length; i++) mixed[i] = x[i] + t * (y[i] - x[i]);
        return new Conditioning(a.Batch, a.Tokens, a.Dim, mixed);
    }

    // [negative × batch, positive × batch]: one context row per row of the doubled sample.
    private static Conditioning Stack(Conditioning negative, Conditioning positive, int batch)
    {
        var item = negative.Tokens * negative.Dim;
        var stacked = new float[2 * batch * item];
        for (var b = 0; b < batch; b++)
        {
            (negative.Batch == 1 ? negative.EmbeddingsOf(0) : negative.EmbeddingsOf(b)).CopyTo(stacked.AsSpan(b * item, item));
            (positive.Batch == 1 ? positive.EmbeddingsOf(0) : positive.EmbeddingsOf(b)).CopyTo(stacked.AsSpan((batch + b) * item, item));
        }
        return new Conditioning(2 * batch, negative.Tokens, negative.Dim, stacked);
    }
}
