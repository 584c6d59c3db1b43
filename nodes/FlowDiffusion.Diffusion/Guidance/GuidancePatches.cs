using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.LatentOperations;

namespace FlowDiffusion.Diffusion.Guidance;

/// <summary>
/// ComfyUI's guidance model patches for one guider, run in the order its sampling function runs them on x₀ estimates:
/// the pre-CFG function (<see cref="ProjectedGuidance"/>, APG) on the conditional estimate, then CFG u + s·(c − u) or
/// RescaleCFG's CFG function (<see cref="CfgRescale"/>), then the post-CFG functions (<see cref="CfgZeroStar"/>, then
/// <see cref="PerturbedAttentionGuidance"/> (PAG; it commutes with CFGZeroStar, whose term does not read the guided estimate),
/// then <see cref="SelfAttentionGuidance"/> (SAG, whose term does not read the guided estimate either), then <see cref="CfgNorm"/>). ComfyUI runs each list in the order the patches were applied; here the order is fixed — pre-CFG:
/// <see cref="TangentialDamping"/> (TCFG), the CFG latent operation (LatentApplyOperationCFG), then APG; post-CFG: CFGZeroStar,
/// PAG, SAG, CFGNorm, <see cref="MahiroGuidance"/>, then <see cref="EpsilonScaling"/> — and a converter refuses the other orders. The model's ε or v predictions become x₀ = c_skip·x + c_out·output (x the unscaled latents, the
/// model input over c_in) and the result goes back the same way, so the guider still returns a prediction.
/// </summary>
public sealed class GuidancePatches
{
    private readonly ModelPrediction _prediction;
    private readonly float _rescale;
    private readonly ProjectedGuidance? _apg;
    private readonly bool _zeroStar;
    private readonly double? _normStrength;
    private readonly double _pagScale;

    /// <summary>The patches of one guider.</summary>
    /// <param name="prediction">What the model predicts, for the x₀ estimates.</param>
    /// <param name="rescale">RescaleCFG's multiplier; 0 for none.</param>
    /// <param name="apg">APG's state; null for none.</param>
    /// <param name="zeroStar">Whether CFGZeroStar runs.</param>
    /// <param name="normStrength">CFGNorm's strength; null for none.</param>
    /// <param name="pagScale">PAG's scale; 0 for none (then no perturbed prediction is needed).</param>
    /// <exception cref="ArgumentException">RescaleCFG on an EDM model, which it is not written for here.</exception>
    public GuidancePatches(ModelPrediction prediction, float rescale, ProjectedGuidance? apg, bool zeroStar, double? normStrength, double pagScale = 0)
    {
        _pagScale = pagScale;
        ArgumentNullException.ThrowIfNull(prediction);
        if (rescale > 0 && prediction.Kind == PredictionKind.Edm)
            throw new ArgumentException("rescale supports epsilon and v_prediction models; this model's prediction_type is 'edm'");
        (_prediction, _rescale, _apg, _zeroStar, _normStrength) = (prediction, rescale, apg, zeroStar, normStrength);
    }

    /// <summary>Whether any patch runs (otherwise a guider combines its predictions as plain CFG).</summary>
    public bool Any => _rescale > 0 || _apg is not null || _zeroStar || _normStrength is not null || Perturbs || TangentialDamping || LatentOperation is not null || Mahiro
        || EpsilonScalingFactor is not null || SelfAttention is not null;

    /// <summary>Whether PAG runs, so <see cref="Guide"/> needs the perturbed conditional prediction (and the unconditional one at scale 1 too, ComfyUI's disable_cfg1_optimization).</summary>
    public bool Perturbs => _pagScale != 0;

    /// <summary>
    /// Whether a patch changes the result at scale 1, where ComfyUI guides against a zero unconditional estimate (Mahiro
    /// changes nothing there by itself, and TCFG is skipped there).
    /// </summary>
    public bool ActsAtScaleOne => _apg is not null || _normStrength is not null || LatentOperation is not null || EpsilonScalingFactor is not null;

    /// <summary>The guided prediction from the conditional and unconditional ones.</summary>
    /// <param name="conditional">The conditional prediction, [batch, outChannels, h, w].</param>
    /// <param name="unconditional">The unconditional prediction, or empty where ComfyUI skips it (scale 1): its x₀ estimate is then zeros.</param>
    /// <param name="scale">The CFG scale.</param>
    /// <param name="modelInput">The scaled model input, [batch, inChannels, h, w]; its first outChannels channels are x·c_in.</param>
    /// <param name="batch">Batch items.</param>
    /// <param name="inChannels">Channels of <paramref name="modelInput"/>.</param>
    /// <param name="outChannels">Channels of the predictions.</param>
    /// <param name="plane">h · w.</param>
    /// <param name="sigma">The evaluation's noise level (above 0).</param>
    /// <param name="result">The guided prediction, same shape as <paramref name="conditional"/>.</param>
    /// <param name="perturbed">PAG's perturbed conditional prediction, same shape; needed when <see cref="Perturbs"/>.</param>
    /// <param name="width">The latents' width (the plane's rows are plane / width), which a CFG latent operation needs; 0 where none runs.</param>
    /// <param name="degraded">SAG's step (<see cref="DegradeForSelfAttention"/>); null where SAG does not act.</param>
    /// <param name="degradedPrediction">The model's prediction for <paramref name="degraded"/>'s model input with the negative conditioning.</param>
    public void Guide(ReadOnlySpan<float> conditional, ReadOnlySpan<float> unconditional, float scale, ReadOnlySpan<float> modelInput, int batch, int inChannels,
        int outChannels, int plane, float sigma, Span<float> result, ReadOnlySpan<float> perturbed = default, int width = 0, SelfAttentionStep? degraded = null,
        ReadOnlySpan<float> degradedPrediction = default)
    {
        if (Perturbs && perturbed.Length < batch * outChannels * plane) throw new ArgumentException("PAG needs the perturbed conditional prediction for every row");
        var item = outChannels * plane;
        var length = batch * item;
        if (conditional.Length < length || result.Length < length || (!unconditional.IsEmpty && unconditional.Length < length) || modelInput.Length < batch * inChannels * plane)
            throw new ArgumentException("the predictions or the model input are shorter than the batch they describe");
        if (_apg is not null && scale == 0) throw new ArgumentException("APG divides by the CFG scale, so it needs a scale above 0");

        var (skip, output) = _prediction.Scalings(sigma);
        var inputScale = (double)_prediction.InputScale(sigma);
        var x = new double[length];
        var c = new double[length];
        var u = new double[length];
        for (var b = 0; b < batch; b++)
        {
            for (var i = 0; i < item; i++)
            {
                var k = (b * item) + i;
                x[k] = modelInput[(b * inChannels * plane) + i] / inputScale;
                c[k] = (skip * x[k]) + (output * (double)conditional[k]);
                u[k] = unconditional.IsEmpty ? 0 : (skip * x[k]) + (output * (double)unconditional[k]);
            }
        }

        if (TangentialDamping && !unconditional.IsEmpty) Guidance.TangentialDamping.Apply(u, c, x, batch);
        if (LatentOperation is not null) ApplyLatentOperation(c, u, batch, outChannels, plane, width);
        _apg?.Apply(c, u, scale, sigma, batch);
        var guided = new double[length];
        if (_rescale > 0)
        {
            // RescaleCFG works on the predictions: the (modified) conditional and the guided one, as ComfyUI's CFG function sees them.
            var positive = new float[length];
            var combined = new float[length];
            for (var k = 0; k < length; k++)
            {
                double cp = (c[k] - (skip * x[k])) / output, up = (u[k] - (skip * x[k])) / output;
                positive[k] = (float)cp;
                combined[k] = (float)(up + (scale * (cp - up)));
            }

            CfgRescale.Apply(positive, combined, modelInput, batch, inChannels, outChannels, plane, sigma, _prediction.Kind == PredictionKind.V, _rescale);
            for (var k = 0; k < length; k++) guided[k] = (skip * x[k]) + (output * (double)combined[k]);
        }
        else
        {
            for (var k = 0; k < length; k++) guided[k] = u[k] + ((c[k] - u[k]) * scale);
        }

        if (_zeroStar) CfgZeroStar.Apply(guided, c, u, x, scale, batch);
        if (Perturbs) PerturbedAttentionGuidance.Apply(guided, c, perturbed, x, skip, output, _pagScale);
        if (degraded is not null && SelfAttention is not null)
        {
            if (degradedPrediction.Length < length) throw new ArgumentException("SAG needs the prediction of the degraded latents for every row");
            var estimate = new double[length];
            for (var k = 0; k < length; k++) estimate[k] = (skip * degraded.Noised[k]) + (output * (double)degradedPrediction[k]);
            SelfAttention.Apply(guided, degraded.Degraded, estimate);
        }

        if (_normStrength is { } strength) CfgNorm.Apply(guided, c, strength, batch, outChannels, plane);
        if (Mahiro) MahiroGuidance.Apply(guided, c, u, scale, batch, outChannels, plane);
        if (EpsilonScalingFactor is { } factor) EpsilonScaling.Apply(guided, x, factor);
        for (var k = 0; k < length; k++) result[k] = (float)((guided[k] - (skip * x[k])) / output);
    }

    // TCFG, LatentApplyOperationCFG, Mahiro, EpsilonScaling and SAG (their arithmetic is in their own files).

    /// <summary>ComfyUI's SelfAttentionGuidance (<see cref="SelfAttentionGuidance"/>); null for none. Not with TCFG, which changes the unconditional estimate SAG degrades.</summary>
    public SelfAttentionGuidance? SelfAttention { get; init; }

    /// <summary>
    /// SAG's degraded estimate for one evaluation: the unconditional x₀ estimate u (from <paramref name="unconditional"/>)
    /// blurred where <paramref name="attention"/> [batch, middle tokens] marks, re-noised as d + x − u and scaled for the UNet;
    /// null where SAG does not act (none set, or latents with a side of 4 or less, as ComfyUI skips them).
    /// </summary>
    /// <param name="unconditional">The unconditional prediction, [batch, outChannels, h, w].</param>
    /// <param name="attention">The middle block's self-attention map of the unconditional rows.</param>
    /// <param name="modelInput">The scaled model input, [batch, inChannels, h, w].</param>
    /// <param name="batch">Batch items.</param>
    /// <param name="inChannels">Channels of <paramref name="modelInput"/>; those past outChannels (an inpainting UNet's) are kept.</param>
    /// <param name="outChannels">Channels of the predictions.</param>
    /// <param name="height">The latents' height.</param>
    /// <param name="width">The latents' width.</param>
    /// <param name="sigma">The evaluation's noise level (above 0).</param>
    public SelfAttentionStep? DegradeForSelfAttention(ReadOnlySpan<float> unconditional, ReadOnlySpan<float> attention, ReadOnlySpan<float> modelInput, int batch, int inChannels,
        int outChannels, int height, int width, float sigma)
    {
        if (SelfAttention is null || !SelfAttentionGuidance.ActsOn(height, width)) return null;
        if (TangentialDamping) throw new ArgumentException("SAG (self-attention guidance) with TCFG is not supported: TCFG changes the unconditional estimate SAG degrades");
        var plane = height * width;
        var item = outChannels * plane;
        var length = batch * item;
        if (unconditional.Length < length || modelInput.Length < batch * inChannels * plane)
            throw new ArgumentException("the unconditional prediction or the model input is shorter than the batch it describes");
        var (skip, output) = _prediction.Scalings(sigma);
        var inputScale = (double)_prediction.InputScale(sigma);
        var x = new double[length];
        var u = new double[length];
        for (var b = 0; b < batch; b++)
        {
            for (var i = 0; i < item; i++)
            {
                var k = (b * item) + i;
                x[k] = modelInput[(b * inChannels * plane) + i] / inputScale;
                u[k] = (skip * x[k]) + (output * (double)unconditional[k]);
            }
        }

        var degraded = SelfAttention.Degrade(u, attention, batch, outChannels, height, width);
        var noised = new double[length];
        var input = modelInput[..(batch * inChannels * plane)].ToArray();
        for (var b = 0; b < batch; b++)
        {
            for (var i = 0; i < item; i++)
            {
                var k = (b * item) + i;
                noised[k] = degraded[k] + x[k] - u[k];
                input[(b * inChannels * plane) + i] = (float)(noised[k] * inputScale);
            }
        }

        return new SelfAttentionStep(degraded, noised, input);
    }

    /// <summary>Whether ComfyUI's TCFG (<see cref="Guidance.TangentialDamping"/>) damps the unconditional estimate.</summary>
    public bool TangentialDamping { get; init; }

    /// <summary>LatentApplyOperationCFG's operation, run on the guidance c − u (c itself at scale 1); null for none.</summary>
    public LatentOperation? LatentOperation { get; init; }

    /// <summary>Whether ComfyUI's Mahiro (<see cref="MahiroGuidance"/>) mixes the guided estimate with the leap s·c.</summary>
    public bool Mahiro { get; init; }

    /// <summary>ComfyUI's EpsilonScaling factor (<see cref="Guidance.EpsilonScaling"/>); null for none.</summary>
    public double? EpsilonScalingFactor { get; init; }

    // c ← op(c − u) + u, each batch item an image of plane / width rows.
    private void ApplyLatentOperation(Span<double> c, ReadOnlySpan<double> u, int batch, int channels, int plane, int width)
    {
        if (width < 1 || plane % width != 0) throw new ArgumentException("a CFG latent operation needs the latents' width");
        for (var k = 0; k < c.Length; k++) c[k] -= u[k];
        LatentOperation!.Apply(c, batch, channels, plane / width, width);
        for (var k = 0; k < c.Length; k++) c[k] += u[k];
    }
}
