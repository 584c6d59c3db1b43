namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// NVIDIA's Align Your Steps schedules (Sabour et al. 2024) as ComfyUI's AlignYourStepsScheduler gives them: the published
/// 10-step noise levels for SD 1.x, SDXL and SVD, interpolated linearly in log σ to other step counts; denoise below 1
/// keeps the last round(steps · denoise) steps; the last sigma is 0.
/// </summary>
public static class AlignYourSteps
{
    private static readonly Dictionary<string, double[]> NoiseLevels = new(StringComparer.Ordinal)
    {
        ["SD1"] = [14.6146412293, 6.4745760956, 3.8636745985, 2.6946151520, 1.8841921177, 1.3943805092, 0.9642583904, 0.6523686016, 0.3977456272, 0.1515232662, 0.0291671582],
        ["SDXL"] = [14.6146412293, 6.3184485287, 3.7681790315, 2.1811480769, 1.3405244945, 0.8620721141, 0.5550693289, 0.3798540708, 0.2332364134, 0.1114188177, 0.0291671582],
        ["SVD"] = [700.00, 54.5, 15.886, 7.977, 4.248, 1.789, 0.981, 0.403, 0.173, 0.034, 0.002],
    };

    /// <summary>The model types with a published schedule.</summary>
    public static IReadOnlyList<string> ModelTypes { get; } = ["SD1", "SDXL", "SVD"];

    /// <summary>The schedule: descending sigmas ending in 0, empty for denoise 0 or below.</summary>
    /// <param name="modelType">One of <see cref="ModelTypes"/>.</param>
    /// <param name="steps">Steps, 1 … 10,000.</param>
    /// <param name="denoise">The fraction of the steps kept, 0 … 1.</param>
    public static float[] Sigmas(string modelType, int steps, double denoise)
    {
        if (!NoiseLevels.TryGetValue(modelType, out var levels))
            throw new ArgumentException($"model_type '{modelType}' has no Align Your Steps schedule; valid values: {string.Join(", ", ModelTypes)}", nameof(modelType));
        if (steps is < 1 or > 10000) throw new ArgumentException($"steps must be 1 … 10000; got {steps}", nameof(steps));
        var total = steps;
        if (denoise < 1)
        {
            if (denoise <= 0) return [];
            total = (int)Math.Round(steps * denoise, MidpointRounding.ToEven);
        }

        var sigmas = steps + 1 == levels.Length ? levels : LogLinear(levels, steps + 1);
        var kept = sigmas[^(total + 1)..].Select(s => (float)s).ToArray();
        kept[^1] = 0;
        return kept;
    }

    // numpy.interp of log σ (ascending) at count evenly spaced points of [0, 1], back to descending σ (GITS interpolates so too).
    internal static double[] LogLinear(double[] levels, int count)
    {
        var ascending = levels.Reverse().Select(l => Math.Log(l)).ToArray();
        var result = new double[count];
        for (var i = 0; i < count; i++)
        {
            var position = count == 1 ? 0 : (double)i / (count - 1) * (ascending.Length - 1);
            var low = Math.Min((int)Math.Floor(position), ascending.Length - 2);
            var fraction = position - low;
            result[count - 1 - i] = Math.Exp(ascending[low] + (ascending[low + 1] - ascending[low]) * fraction);
        }

        return result;
    }
}
