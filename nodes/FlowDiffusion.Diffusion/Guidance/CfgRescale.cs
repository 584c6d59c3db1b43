namespace FlowDiffusion.Diffusion.Guidance;

/// <summary>
/// ComfyUI's RescaleCFG (Lin et al., "Common Diffusion Noise Schedules and Sample Steps are Flawed", §3.4, as ComfyUI
/// applies it): the guided prediction, in v-space, is scaled to the standard deviation of the conditional prediction and
/// blended with the unscaled one by a multiplier. ComfyUI computes it from denoised images for every model; in the
/// model's own terms that is: with the scaled model input x and a = √(σ² + 1), v = a·ε − σ·x for an ε-model (a v-model's
/// output is v); v_final = v_cfg · (m · std(v_cond) / std(v_cfg) + 1 − m), std over each batch item (unbiased, as
/// <c>torch.std</c>); back to ε as (v_final + σ·x) / a.
/// </summary>
public static class CfgRescale
{
    /// <summary>Rescales <paramref name="guided"/> in place.</summary>
    /// <param name="conditional">The conditional prediction, [batch, outChannels, h, w].</param>
    /// <param name="guided">The guided prediction u + s·(c − u), same shape; rescaled in place.</param>
    /// <param name="modelInput">The scaled model input, [batch, inChannels, h, w]; its first outChannels channels are x.</param>
    /// <param name="batch">Batch items.</param>
    /// <param name="inChannels">Channels of <paramref name="modelInput"/>.</param>
    /// <param name="outChannels">Channels of the predictions.</param>
    /// <param name="plane">h · w.</param>
    /// <param name="sigma">The step's noise level (k-diffusion σ, √((1 − ᾱ)/ᾱ)).</param>
    /// <param name="vPrediction">Whether the predictions are v (else ε).</param>
    /// <param name="multiplier">ComfyUI's multiplier, 0 (off) to 1.</param>
    public static void Apply(ReadOnlySpan<float> conditional, Span<float> guided, ReadOnlySpan<float> modelInput, int batch, int inChannels, int outChannels,
        int plane, float sigma, bool vPrediction, float multiplier)
    {
        if (multiplier == 0) return;
        var item = outChannels * plane;
        if (conditional.Length < batch * item || guided.Length < batch * item || modelInput.Length < batch * inChannels * plane)
            throw new ArgumentException("the predictions or the model input are shorter than the batch they describe");
        double a = Math.Sqrt(((double)sigma * sigma) + 1), s = sigma;
        for (var b = 0; b < batch; b++)
        {
            var c = conditional.Slice(b * item, item);
            var g = guided.Slice(b * item, item);
            var x = modelInput.Slice(b * inChannels * plane, item);
            var ratio = Deviation(c, x, a, s, vPrediction) is var positive && Deviation(g, x, a, s, vPrediction) is var total && total > 0 ? positive / total : 1;
            var k = (multiplier * ratio) + 1 - multiplier;
            for (var i = 0; i < item; i++)
            {
                // ε' = (k·(a·ε − σ·x) + σ·x) / a; a v-model's v' = k·v.
                g[i] = vPrediction ? (float)(k * g[i]) : (float)(((k * ((a * g[i]) - (s * x[i]))) + (s * x[i])) / a);
            }
        }
    }

    // The unbiased standard deviation of one item's prediction in v-space (two passes, in double).
    private static double Deviation(ReadOnlySpan<float> prediction, ReadOnlySpan<float> x, double a, double s, bool vPrediction)
    {
        var n = prediction.Length;
        if (n < 2) return 0;
        double sum = 0;
        for (var i = 0; i < n; i++) sum += V(prediction[i], x[i], a, s, vPrediction);
        var mean = sum / n;
        double squares = 0;
        for (var i = 0; i < n; i++)
        {
            var d = V(prediction[i], x[i], a, s, vPrediction) - mean;
            squares += d * d;
        }

        return Math.Sqrt(squares / (n - 1));
    }

    private static double V(float prediction, float x, double a, double s, bool vPrediction) => vPrediction ? prediction : (a * prediction) - (s * x);
}
