using FlowDiffusion.Nodes.StableDiffusion.Regions;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// Guidance with two prompts (ComfyUI's DualCFGGuider): with p₁, p₂ and n the predictions for cond1, cond2 and the
/// negative, "regular" is n + s₂·(p₂ − n) + s₁·(p₁ − p₂) and "nested" is n + s₂·(p₂ + s₁·(p₁ − p₂) − n), s₁ being
/// cfg_conds and s₂ cfg_cond2_negative. The prompts share one batched model call. Both are affine combinations (the
/// weights sum to 1), so computed on the predictions they equal ComfyUI's on x₀ estimates. As ComfyUI's, "regular" leaves
/// the negative out of the call at s₂ = 1 and cond2 too when s₁ = 1 as well (they do not change the result there), unless
/// a CFG++ sampler asks for the unconditional prediction: the negative's ("regular") or cond2's ("nested"), the one
/// ComfyUI's CFG function is handed last.
/// </summary>
internal sealed class DualCfgGuider(IDenoiser denoiser, Conditioning cond1, Conditioning cond2, Conditioning negative, float scaleConds, float scaleNegative, bool nested)
    : IGuider
{
    private (int Batch, bool Negative, bool Middle, Conditioning Context)? _stacked;

    public int InChannels => denoiser.InChannels;

    public async Task<float[]> PredictAsync(GuidanceInput input, CancellationToken cancellationToken) =>
        (await PredictAsync(input, withUnconditional: false, cancellationToken)).Guided;

    public Task<GuidedPrediction> PredictWithUnconditionalAsync(GuidanceInput input, CancellationToken cancellationToken) =>
        PredictAsync(input, withUnconditional: true, cancellationToken);

    private async Task<GuidedPrediction> PredictAsync(GuidanceInput input, bool withUnconditional, CancellationToken cancellationToken)
    {
        // ComfyUI's math.isclose(…, 1.0): a relative tolerance of 10⁻⁹.
        var skipNegative = !nested && !withUnconditional && IsOne(scaleNegative);
        var skipMiddle = skipNegative && IsOne(scaleConds);
        var groups = 1 + (skipNegative ? 0 : 1) + (skipMiddle ? 0 : 1);
        var shape = input.Shape;
        var sample = new float[groups * shape.Length];
        for (var g = 0; g < groups; g++) input.ModelInput.Span.CopyTo(sample.AsSpan(g * shape.Length));
        var output = shape.Batch * denoiser.OutChannels * shape.Height * shape.Width;
        var predicted = new float[groups * output];
        await denoiser.PredictAsync(new DenoiserInput(sample, shape.WithBatch(groups * shape.Batch), input.Timestep, Context(shape.Batch, !skipNegative, !skipMiddle)),
            predicted, cancellationToken);

        // Rows: [negative;] [cond2;] cond1.
        var first = predicted.AsSpan((groups - 1) * output, output);
        if (skipMiddle) return new(first.ToArray(), null);
        var middle = predicted.AsSpan((groups - 2) * output, output);
        var result = new float[output];
        if (skipNegative)
        {
            for (var i = 0; i < output; i++) result[i] = middle[i] + ((first[i] - middle[i]) * scaleConds);
            return new(result, null);
        }

        var negativeRows = predicted.AsSpan(0, output);
        for (var i = 0; i < output; i++)
        {
            float n = negativeRows[i], m = middle[i], p = first[i];
            result[i] = nested
                ? n + ((m + ((p - m) * scaleConds) - n) * scaleNegative)
                : n + ((m - n) * scaleNegative) + ((p - m) * scaleConds);
        }

        return new(result, withUnconditional ? (nested ? middle : negativeRows).ToArray() : null);
    }

    private static bool IsOne(float scale) => Math.Abs(scale - 1.0) <= 1e-9 * Math.Max(1, Math.Abs((double)scale));

    // [negative; cond2; cond1] rows (those evaluated), built once per batch size and rows.
    private Conditioning Context(int batch, bool withNegative, bool withMiddle)
    {
        if (_stacked is { } cached && cached.Batch == batch && cached.Negative == withNegative && cached.Middle == withMiddle) return cached.Context;
        if (denoiser.GuidanceEmbeddingWidth is not null)
            throw new ArgumentException("guidance.dual_cfg needs a UNet that takes unguided predictions; this one embeds the guidance scale (LCM-distilled): use guidance.cfg");
        foreach (var (name, conditioning) in new[] { ("cond1", cond1), ("cond2", cond2), ("negative", negative) })
        {
            if (CombinedConditionings.Of(conditioning).Count > 1 || ConditioningRegion.Of(conditioning) is not null || ActingParts.Any([conditioning]))
                throw new ArgumentException($"guidance.dual_cfg takes plain conditionings; {name} is combined, restricted to an area or mask, or limited to part of the schedule (use guidance.cfg for those)");
        }

        var rows = new List<ConditioningRows>();
        if (withNegative) rows.Add(new ConditioningRows(negative, batch));
        if (withMiddle) rows.Add(new ConditioningRows(cond2, batch));
        rows.Add(new ConditioningRows(cond1, batch));
        Conditioning context;
        try
        {
            context = Conditioning.Batched(rows);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"cond1, cond2 and the negative conditioning cannot be batched together: {e.Message}", e);
        }

        _stacked = (batch, withNegative, withMiddle, context);
        return context;
    }
}
