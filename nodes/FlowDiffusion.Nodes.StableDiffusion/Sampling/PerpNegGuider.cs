using FlowDiffusion.Nodes.StableDiffusion.Regions;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// Perp-Neg guidance (Armandpour et al. 2023; ComfyUI's PerpNegGuider): with p, n and e the predictions for the positive,
/// negative and empty prompts, pos = p − e and neg = n − e, the negative acts only through its part perpendicular to pos,
/// perp = neg − (⟨neg, pos⟩ / ‖pos‖²)·pos, and the result is e + s·(pos − k·perp). The dot product and norm run over the
/// whole batch, as ComfyUI's. The three prompts share one batched model call. ComfyUI works on x0 estimates, which are
/// the same affine map of every prediction at a step, so the result is the same computed on the predictions.
/// </summary>
internal sealed class PerpNegGuider(IDenoiser denoiser, Conditioning positive, Conditioning negative, Conditioning empty, float scale, float negativeScale) : IGuider
{
    private (int Batch, Conditioning Context)? _stacked;

    public int InChannels => denoiser.InChannels;

    public async Task<float[]> PredictAsync(GuidanceInput input, CancellationToken cancellationToken)
    {
        var shape = input.Shape;
        var sample = new float[3 * shape.Length];
        for (var g = 0; g < 3; g++) input.ModelInput.Span.CopyTo(sample.AsSpan(g * shape.Length));
        var output = shape.Batch * denoiser.OutChannels * shape.Height * shape.Width;
        var predicted = new float[3 * output];
        await denoiser.PredictAsync(new DenoiserInput(sample, shape.WithBatch(3 * shape.Batch), input.Timestep, Context(shape.Batch)), predicted, cancellationToken);
        return Combine(predicted.AsSpan(2 * output, output), predicted.AsSpan(output, output), predicted.AsSpan(0, output), scale, negativeScale);
    }

    /// <summary>e + s·(pos − k·perp) from the positive, negative and empty predictions.</summary>
    internal static float[] Combine(ReadOnlySpan<float> positive, ReadOnlySpan<float> negative, ReadOnlySpan<float> empty, float scale, float negativeScale)
    {
        double dot = 0, norm = 0;
        for (var i = 0; i < positive.Length; i++)
        {
            double pos = positive[i] - empty[i], neg = negative[i] - empty[i];
            dot += neg * pos;
            norm += pos * pos;
        }

        // A positive equal to the empty prompt has no direction to be perpendicular to (ComfyUI divides 0 by 0 there and
        // gives NaN): the whole negative counts as perpendicular.
        var projection = norm > 0 ? (float)(dot / norm) : 0f;
        var result = new float[positive.Length];
        for (var i = 0; i < result.Length; i++)
        {
            float pos = positive[i] - empty[i], neg = negative[i] - empty[i];
            var perp = neg - projection * pos;
            result[i] = empty[i] + scale * (pos - negativeScale * perp);
        }

        return result;
    }

    // [empty; negative; positive] rows, built once per batch size (the conditionings never change).
    private Conditioning Context(int batch)
    {
        if (_stacked is { } cached && cached.Batch == batch) return cached.Context;
        if (denoiser.GuidanceEmbeddingWidth is not null)
            throw new ArgumentException("guidance.perp_neg needs a UNet that takes unguided predictions; this one embeds the guidance scale (LCM-distilled): use guidance.cfg");
        foreach (var (name, conditioning) in new[] { ("positive", positive), ("negative", negative), ("empty", empty) })
        {
            if (CombinedConditionings.Of(conditioning).Count > 1 || ConditioningRegion.Of(conditioning) is not null || ActingParts.Any([conditioning]))
                throw new ArgumentException($"guidance.perp_neg takes plain conditionings; {name} is combined, restricted to an area or mask, or limited to part of the schedule (use guidance.cfg for those)");
        }

        Conditioning context;
        try
        {
            context = Conditioning.Batched([new ConditioningRows(empty, batch), new ConditioningRows(negative, batch), new ConditioningRows(positive, batch)]);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"the positive, negative and empty conditionings cannot be batched together: {e.Message}", e);
        }

        _stacked = (batch, context);
        return context;
    }
}
