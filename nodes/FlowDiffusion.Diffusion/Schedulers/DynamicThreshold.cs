namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>
/// Imagen's dynamic thresholding (Saharia et al. 2022): per batch item, s = the given quantile of |x₀| clamped to
/// [1, max], then x₀ ← clamp(x₀, −s, s) / s.
/// </summary>
internal static class DynamicThreshold
{
    public static void Apply(Span<float> x0, int batch, double ratio, double maxValue)
    {
        if (batch < 1 || x0.Length % batch != 0)
        {
            throw new ArgumentException($"Dynamic thresholding needs the batch size: {x0.Length} values do not split into {batch} items.");
        }

        var itemLength = x0.Length / batch;
        var sorted = new float[itemLength];
        for (var b = 0; b < batch; b++)
        {
            var item = x0.Slice(b * itemLength, itemLength);
            for (var i = 0; i < itemLength; i++) sorted[i] = MathF.Abs(item[i]);
            Array.Sort(sorted);

            // torch.quantile's linear interpolation between the two closest ranks.
            var position = ratio * (itemLength - 1);
            var lower = (int)Math.Floor(position);
            var upper = Math.Min(lower + 1, itemLength - 1);
            var fraction = (float)(position - lower);
            var s = sorted[lower] + fraction * (sorted[upper] - sorted[lower]);
            s = Math.Clamp(s, 1f, (float)maxValue);
            for (var i = 0; i < itemLength; i++) item[i] = Math.Clamp(item[i], -s, s) / s;
        }
    }
}
