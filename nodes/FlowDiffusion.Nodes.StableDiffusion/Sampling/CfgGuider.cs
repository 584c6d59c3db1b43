using System.Buffers;
using System.Numerics.Tensors;
using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Nodes.StableDiffusion.Regions;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Sampling;

/// <summary>
/// Classifier-free guidance: ε = ε_u + s·(ε_c − ε_u), the unconditional and conditional halves evaluated as ONE
/// batch (negatives first). Scale 1 evaluates the positive half only, unless a sampler asks for the unconditional
/// prediction as well (<see cref="PredictWithUnconditionalAsync"/>, for the CFG++ samplers). A combined conditioning
/// (<see cref="CombinedConditionings"/>, ComfyUI's ConditioningCombine) adds one group of rows per part to that batch, and
/// its prediction is the mean of its parts' predictions, as ComfyUI averages them. Conditionings restricted to areas or
/// masks (conditioning.set_area, conditioning.set_mask) are weighted by their regions instead (<see cref="RegionalPrediction"/>).
/// A denoiser that embeds the scale (an LCM-distilled UNet, <see cref="IDenoiser.GuidanceEmbeddingWidth"/>) gets the
/// scale's embedding as its <c>timestep_cond</c> and the positive conditioning alone, as diffusers' LCM pipeline runs it.
/// Conditionings limited to part of the schedule (<see cref="ConditioningTimestepRange"/>, ComfyUI's
/// ConditioningSetTimestepRange) are left out of the steps outside their range, as ComfyUI leaves them out. With a
/// <see cref="GuidanceRescale"/> (ComfyUI's RescaleCFG) the guided prediction is rescaled against the conditional one.
/// With <see cref="GuidanceModelPatches"/> (ComfyUI's APG, CFGZeroStar and CFGNorm, RescaleCFG with them) the predictions
/// are combined as ComfyUI's sampling function combines them on x₀ estimates; at scale 1 those that act there guide
/// against a zero unconditional estimate, as ComfyUI's do when it skips the unconditional half. With PAG among the patches
/// (ComfyUI's PerturbedAttentionGuidance) the batch carries a third group of rows, the positive again with the UNet's
/// <c>pag_mask</c> set (<see cref="Models.PerturbedAttentionMask"/>), and the unconditional half is evaluated at scale 1 too,
/// as ComfyUI's disable_cfg1_optimization has it; combined positives get their perturbed rows in a call of their own. With SAG
/// (ComfyUI's SelfAttentionGuidance) the batch call also returns the unconditional rows' middle-block self-attention map
/// (<see cref="Models.SelfAttentionRecord"/>), and the degraded latents it gives are predicted with the negative in a second
/// call; the unconditional half is evaluated at scale 1 too. SAG takes one positive and one negative without areas, masks,
/// timestep ranges or composition, where ComfyUI's unconditional rows are one group.
/// </summary>
/// <remarks>
/// Per step it rents the doubled model input and the doubled prediction and allocates only the guided result: the
/// stacked [negative; positive] context, extras batched with it, is built once per batch size, since the
/// conditionings never change.
/// </remarks>
internal sealed class CfgGuider(IDenoiser denoiser, Conditioning positive, Conditioning negative, float scale, GuidanceRescale? rescale = null,
    GuidanceModelPatches? patches = null) : IGuider
{
    private readonly IReadOnlyList<Conditioning> _negatives = CombinedConditionings.Of(negative);
    private readonly IReadOnlyList<Conditioning> _positives = CombinedConditionings.Of(positive);
    private readonly bool _regional = RegionalPrediction.Any(CombinedConditionings.Of(positive).Concat(CombinedConditionings.Of(negative)));
    private readonly bool _ranged = ActingParts.Any(CombinedConditionings.Of(positive).Concat(CombinedConditionings.Of(negative)));
    private readonly bool _composed = CombinedConditionings.Of(positive).Any(c => c.Extras.Contains(PromptWeight.Key));
    // Keyed by the rows' groups too: at scale 1 the combined context has the negative's rows only when a CFG++ sampler asks.
    private (int Batch, int Groups, Conditioning Context)? _stacked;
    private ExtraTensor? _embedding;

    public int InChannels => denoiser.InChannels;

    public async Task<float[]> PredictAsync(GuidanceInput input, CancellationToken cancellationToken) =>
        (await PredictAsync(input, withUnconditional: false, cancellationToken)).Guided;

    // The unconditional half is evaluated at scale 1 too (ComfyUI's disable_cfg1_optimization for its CFG++ samplers).
    public Task<GuidedPrediction> PredictWithUnconditionalAsync(GuidanceInput input, CancellationToken cancellationToken) =>
        PredictAsync(input, withUnconditional: true, cancellationToken);

    private async Task<GuidedPrediction> PredictAsync(GuidanceInput input, bool withUnconditional, CancellationToken cancellationToken)
    {
        if (patches is not null && denoiser.GuidanceEmbeddingWidth is not null)
            throw new ArgumentException("APG, CFGZeroStar, CFGNorm, PAG, SAG, TCFG, LatentApplyOperationCFG, Mahiro and Epsilon Scaling need a UNet that takes unguided predictions; this one embeds the guidance scale (LCM-distilled)");
        if (patches is { Perturbs: true } && (_composed || _regional))
            throw new ArgumentException("PAG (perturbed-attention guidance) is not supported with a composed prompt (AND) or area and mask conditionings");
        if (patches is { MapsSelfAttention: true } && (_composed || _regional || _ranged || _positives.Count > 1 || _negatives.Count > 1))
            throw new ArgumentException("SAG (self-attention guidance) needs one positive and one negative conditioning: it is not supported with a composed prompt (AND), combined conditionings, area and mask conditionings or timestep ranges, where the unconditional rows it maps are not one group");
        var prediction = await PredictUnpatchedAsync(input, withUnconditional, cancellationToken);
        // ComfyUI skips the unconditional half at scale 1 (unless PAG disables that); APG and CFGNorm then act against its
        // zero x0 estimate. A composed prompt has guided against its unconditional prediction already.
        if (patches is { ActsAtScaleOne: true, NeedsUnconditional: false } && scale == 1f && !withUnconditional && !_composed)
            prediction = new(patches.Guide(prediction.Guided, [], scale, input, denoiser.OutChannels), null);
        return prediction;
    }

    // Every path guides through Guide, and so through the patches, except scale 1's positive-only one.
    private async Task<GuidedPrediction> PredictUnpatchedAsync(GuidanceInput input, bool withUnconditional, CancellationToken cancellationToken)
    {
        var shape = input.Shape;
        // Scale 1 evaluates the positive half alone unless the sampler asks for the unconditional prediction.
        var positiveOnly = scale == 1f && !withUnconditional && patches is not { NeedsUnconditional: true };
        if (_composed) return Kept(await PredictComposedAsync(input, cancellationToken), withUnconditional);
        if (denoiser.GuidanceEmbeddingWidth is { } width)
            return new(await PredictEmbeddedAsync(input, width, _ranged ? ActingParts.Acting(_positives, "positive", input) : _positives, cancellationToken), null);
        if (_regional) return Kept(await PredictRegionalAsync(input, positiveOnly, cancellationToken), withUnconditional);
        if (_ranged)
        {
            IReadOnlyList<Conditioning> negatives = positiveOnly ? [] : ActingParts.Acting(_negatives, "negative", input);
            return Kept(await PredictCombinedAsync(input, negatives, ActingParts.Acting(_positives, "positive", input), cache: false, cancellationToken), withUnconditional);
        }
        if (_positives.Count > 1 || _negatives.Count > 1)
            return Kept(await PredictCombinedAsync(input, positiveOnly ? [] : _negatives, _positives, cache: true, cancellationToken), withUnconditional);
        if (positiveOnly)
            return new(await denoiser.PredictAsync(new DenoiserInput(input.ModelInput, shape, input.Timestep, positive), cancellationToken), null);

        // [negative; positive], and with PAG the positive again, perturbed.
        var groups = patches is { Perturbs: true } ? 3 : 2;
        var doubled = ArrayPool<float>.Shared.Rent(groups * shape.Length);
        var item = shape.Batch * denoiser.OutChannels * shape.Height * shape.Width;
        var length = groups * item;
        var rented = ArrayPool<float>.Shared.Rent(length);
        try
        {
            for (var g = 0; g < groups; g++) input.ModelInput.Span.CopyTo(doubled.AsSpan(g * shape.Length));
            var context = Context(shape.Batch, groups);
            var batch = new DenoiserInput(doubled.AsMemory(0, groups * shape.Length), shape.WithBatch(groups * shape.Batch), input.Timestep, context);
            if (groups == 3) batch = batch with { Extras = context.Extras.With(Models.PerturbedAttentionMask.Key, Models.PerturbedAttentionMask.Last(3 * shape.Batch, shape.Batch)) };
            var record = patches is { MapsSelfAttention: true } ? new Models.SelfAttentionRecord([.. Enumerable.Range(0, shape.Batch)]) : null;
            if (record is not null) batch = batch with { Extras = batch.Extras.With(Models.SelfAttentionRecord.Key, record) };
            await denoiser.PredictAsync(batch, rented.AsMemory(0, length), cancellationToken);
            var result = new float[item];
            if (record is not null)
            {
                var (step, degraded) = await DegradedAsync(input, rented.AsMemory(0, item), record, cancellationToken);
                patches!.Guide(rented.AsSpan(item, item), rented.AsSpan(0, item), scale, input, denoiser.OutChannels, default, step, degraded).CopyTo(result);
                return new(result, withUnconditional ? rented.AsSpan(0, item).ToArray() : null);
            }

            Guide(rented.AsSpan(0, item), rented.AsSpan(item, item), result, input, groups == 3 ? rented.AsSpan(2 * item, item) : default);
            // The pooled prediction is reused; only a CFG++ sampler's request copies the unconditional half out.
            return new(result, withUnconditional ? rented.AsSpan(0, item).ToArray() : null);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
            ArrayPool<float>.Shared.Return(doubled);
        }
    }

    // SAG's second call: the unconditional rows' degraded latents predicted with the negative (none where SAG skips the size).
    private async Task<(Diffusion.Guidance.SelfAttentionStep? Step, float[] Prediction)> DegradedAsync(GuidanceInput input, ReadOnlyMemory<float> unconditional,
        Models.SelfAttentionRecord record, CancellationToken cancellationToken)
    {
        var map = record.Map ?? throw new InvalidOperationException($"the denoiser ({denoiser.GetType().Name}) returned no self-attention map; SAG needs a UNet that model.load converted (builder version 12 or later)");
        var step = patches!.DegradeForSelfAttention(unconditional.Span, map, input, denoiser.OutChannels);
        if (step is null) return (null, []);
        return (step, await denoiser.PredictAsync(new DenoiserInput(step.ModelInput, input.Shape, input.Timestep, negative), cancellationToken));
    }

    // The unconditional prediction is handed on only when asked for.
    private static GuidedPrediction Kept((float[] Guided, float[]? Unconditional) prediction, bool withUnconditional) =>
        new(prediction.Guided, withUnconditional ? prediction.Unconditional : null);

    // The scale as the model's guidance embedding (w − 1 embedded, batch 1 for every row); no unconditional half. A
    // combined positive runs its parts' rows in one call, each with the embedding, and averages their predictions.
    private async Task<float[]> PredictEmbeddedAsync(GuidanceInput input, int width, IReadOnlyList<Conditioning> positives, CancellationToken cancellationToken)
    {
        _embedding ??= new ExtraTensor([1, width], GuidanceScaleEmbedding.Compute(scale, width));
        if (positives.Count == 1)
        {
            var batch = new DenoiserInput(input.ModelInput, input.Shape, input.Timestep, positives[0]) { Extras = positives[0].Extras.With(StandardExtras.TimestepCond, _embedding) };
            return await denoiser.PredictAsync(batch, cancellationToken);
        }

        var shape = input.Shape;
        var groups = positives.Count;
        var sample = new float[groups * shape.Length];
        for (var g = 0; g < groups; g++) input.ModelInput.Span.CopyTo(sample.AsSpan(g * shape.Length));
        var output = shape.Batch * denoiser.OutChannels * shape.Height * shape.Width;
        var predicted = new float[groups * output];
        var context = CombinedContext(shape.Batch, [], positives, cache: !_ranged);
        var rows = new DenoiserInput(sample, shape.WithBatch(groups * shape.Batch), input.Timestep, context) { Extras = context.Extras.With(StandardExtras.TimestepCond, _embedding) };
        await denoiser.PredictAsync(rows, predicted, cancellationToken);
        return Mean(predicted, 0, groups, output);
    }

    // A composed prompt (A1111's AND): u + s·Σ wᵢ·(cᵢ − u) over the positive parts acting at the step, the negative's
    // parts averaged into u (computed at scale 1 too, as the sum needs it).
    private async Task<(float[] Guided, float[]? Unconditional)> PredictComposedAsync(GuidanceInput input, CancellationToken cancellationToken)
    {
        if (_regional || denoiser.GuidanceEmbeddingWidth is not null)
            throw new ArgumentException(_regional
                ? "a composed prompt (AND) cannot be guided together with area or mask conditionings"
                : "a composed prompt (AND) needs classifier-free guidance; this model embeds its guidance scale (LCM) and has no unconditional prediction");
        var acting = _positives.Where(c => ActingParts.ActsAt(c, input)).ToList();
        if (acting.Count == 0) throw ActingParts.Uncovered("positive", input);
        var weights = acting.Select(PromptWeight.Of).ToList();
        var negatives = ActingParts.Acting(_negatives, "negative", input);
        return await PredictCombinedAsync(input, negatives, [.. acting.Select(ActingParts.Strip)], cache: false, cancellationToken, weights);
    }

    // One call over every part's rows (the negative parts', then the positive parts'), each group averaged; with weights,
    // the positive parts' guidance summed by them instead (a composed prompt). Returns the guided prediction and the
    // unconditional one (null without negatives).
    private async Task<(float[] Guided, float[]? Unconditional)> PredictCombinedAsync(
        GuidanceInput input, IReadOnlyList<Conditioning> negatives, IReadOnlyList<Conditioning> positives, bool cache, CancellationToken cancellationToken,
        IReadOnlyList<float>? weights = null)
    {
        var shape = input.Shape;
        var groups = negatives.Count + positives.Count;
        var sample = new float[groups * shape.Length];
        for (var g = 0; g < groups; g++) input.ModelInput.Span.CopyTo(sample.AsSpan(g * shape.Length));
        var output = shape.Batch * denoiser.OutChannels * shape.Height * shape.Width;
        var predicted = new float[groups * output];
        var context = CombinedContext(shape.Batch, negatives, positives, cache);
        await denoiser.PredictAsync(new DenoiserInput(sample, shape.WithBatch(groups * shape.Batch), input.Timestep, context), predicted, cancellationToken);
        var unconditional = negatives.Count == 0 ? null : Mean(predicted, 0, negatives.Count, output);
        float[] conditional;
        if (weights is null)
        {
            conditional = Mean(predicted, negatives.Count, positives.Count, output);
        }
        else
        {
            // u + Σ wᵢ·(cᵢ − u): the conditional prediction whose guidance at scale s is s·Σ wᵢ·(cᵢ − u).
            conditional = (float[])unconditional!.Clone();
            var difference = new float[output];
            for (var i = 0; i < positives.Count; i++)
            {
                TensorPrimitives.Subtract(predicted.AsSpan((negatives.Count + i) * output, output), unconditional, difference);
                TensorPrimitives.MultiplyAdd(difference, weights[i], conditional, conditional);
            }
        }

        if (unconditional is null) return (conditional, null);
        var perturbed = await PerturbedAsync(input, positives, cancellationToken);
        var result = new float[output];
        Guide(unconditional, conditional, result, input, perturbed);
        return (result, unconditional);
    }

    // PAG's perturbed conditional prediction for combined positives: their rows again in a call of their own, every row
    // perturbed, averaged as the conditional one is. Null without PAG.
    private async Task<float[]?> PerturbedAsync(GuidanceInput input, IReadOnlyList<Conditioning> positives, CancellationToken cancellationToken)
    {
        if (patches is not { Perturbs: true }) return null;
        var shape = input.Shape;
        var rows = positives.Count * shape.Batch;
        var sample = new float[positives.Count * shape.Length];
        for (var g = 0; g < positives.Count; g++) input.ModelInput.Span.CopyTo(sample.AsSpan(g * shape.Length));
        var output = shape.Batch * denoiser.OutChannels * shape.Height * shape.Width;
        var predicted = new float[positives.Count * output];
        var context = CombinedContext(shape.Batch, [], positives, cache: false);
        var call = new DenoiserInput(sample, shape.WithBatch(rows), input.Timestep, context) { Extras = context.Extras.With(Models.PerturbedAttentionMask.Key, Models.PerturbedAttentionMask.Last(rows, rows)) };
        await denoiser.PredictAsync(call, predicted, cancellationToken);
        return Mean(predicted, 0, positives.Count, output);
    }

    // Conditionings restricted to areas or masks: each list's predictions weighted by their regions, then guided.
    private async Task<(float[] Guided, float[]? Unconditional)> PredictRegionalAsync(GuidanceInput input, bool positiveOnly, CancellationToken cancellationToken)
    {
        var (unconditional, conditional) = await RegionalPrediction.PredictAsync(denoiser, _negatives, _positives, !positiveOnly, input, cancellationToken);
        if (unconditional is null) return (conditional, null);
        var result = new float[conditional.Length];
        Guide(unconditional, conditional, result, input);
        return (result, unconditional);
    }

    private static float[] Mean(float[] predicted, int first, int count, int length)
    {
        var mean = new float[length];
        for (var g = first; g < first + count; g++) TensorPrimitives.Add(mean, predicted.AsSpan(g * length, length), mean);
        if (count > 1) TensorPrimitives.Multiply(mean, 1f / count, mean);
        return mean;
    }

    // The stacked context is kept when the lists are the same every step (no timestep ranges).
    private Conditioning CombinedContext(int batch, IReadOnlyList<Conditioning> negatives, IReadOnlyList<Conditioning> positives, bool cache)
    {
        var groups = negatives.Count + positives.Count;
        if (cache && _stacked is { } cached && cached.Batch == batch && cached.Groups == groups) return cached.Context;
        Conditioning context;
        try
        {
            context = Conditioning.Batched([.. negatives.Concat(positives).Select(part => new ConditioningRows(part, batch))]);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"the combined conditionings cannot be batched together: {e.Message}", e);
        }
        if (cache) _stacked = (batch, groups, context);
        return context;
    }

    // u + s·(c − u), then the rescale when there is one; or the model patches (PAG's with the perturbed prediction).
    private void Guide(ReadOnlySpan<float> unconditional, ReadOnlySpan<float> conditional, Span<float> result, GuidanceInput input, ReadOnlySpan<float> perturbed = default)
    {
        if (patches is not null)
        {
            patches.Guide(conditional, unconditional, scale, input, denoiser.OutChannels, perturbed).CopyTo(result);
            return;
        }

        Combine(unconditional, conditional, scale, result);
        rescale?.Apply(conditional, result, input, denoiser.OutChannels);
    }

    /// <summary>u + s·(c − u) element-wise, rounded exactly as the scalar expression (a multiply then an add, not fused).</summary>
    internal static void Combine(ReadOnlySpan<float> unconditional, ReadOnlySpan<float> conditional, float scale, Span<float> result)
    {
        TensorPrimitives.Subtract(conditional, unconditional, result);
        TensorPrimitives.MultiplyAdd(result, scale, unconditional, result);
    }

    // [negative; positive], or with PAG's third group [negative; positive; positive].
    private Conditioning Context(int batch, int groups)
    {
        if (_stacked is { } cached && cached.Batch == batch && cached.Groups == groups) return cached.Context;
        Conditioning context;
        try
        {
            context = Conditioning.Batched([new ConditioningRows(negative, batch), .. Enumerable.Repeat(new ConditioningRows(positive, batch), groups - 1)]);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"the positive and negative conditionings cannot be batched together: {e.Message}", e);
        }
        _stacked = (batch, groups, context);
        return context;
    }
}
