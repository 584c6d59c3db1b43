using System.Globalization;
using System.Text.Json;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// GITS (Chen et al. 2024, "On the Trajectory Regularity of ODE-based Diffusion Sampling") as ComfyUI's GITSScheduler gives
/// it: the published SD 1.x noise levels for a coefficient 0.80 … 1.50 (in steps of 0.05) and 2 … 20 steps; more steps
/// interpolate the 20-step levels linearly in log σ. Denoise below 1 keeps the last round(steps · denoise) steps; the last
/// sigma is 0.
/// </summary>
public static class Gits
{
    private static readonly Lazy<Dictionary<string, double[][]>> Levels = new(Load);

    /// <summary>The coefficients with published levels: 0.80, 0.85 … 1.50.</summary>
    public static IReadOnlyList<double> Coefficients { get; } = [.. Enumerable.Range(16, 15).Select(i => i * 0.05)];

    /// <summary>The schedule: descending sigmas ending in 0, empty for denoise 0 or below.</summary>
    /// <param name="coefficient">One of <see cref="Coefficients"/> (rounded to two decimals, as ComfyUI looks it up).</param>
    /// <param name="steps">
    /// Steps, 1 … <see cref="SigmaSchedules.MaxScheduleSteps"/> (ComfyUI's node takes 2 … 1000; one step reads the 20-step
    /// row from its end, as ComfyUI's index −1 does, for the KSampler name GITS[coeff=1.2]).
    /// </param>
    /// <param name="denoise">The fraction of the steps kept, 0 … 1.</param>
    public static float[] Sigmas(double coefficient, int steps, double denoise)
    {
        var key = Math.Round(coefficient, 2).ToString("0.00", CultureInfo.InvariantCulture);
        if (!Levels.Value.TryGetValue(key, out var rows))
            throw new ArgumentException($"coeff {coefficient.ToString(CultureInfo.InvariantCulture)} has no GITS levels; valid values: 0.80 … 1.50 in steps of 0.05", nameof(coefficient));
        if (steps is < 1 or > SigmaSchedules.MaxScheduleSteps) throw new ArgumentException($"steps must be 1 … {SigmaSchedules.MaxScheduleSteps}; got {steps}", nameof(steps));
        var total = steps;
        if (denoise < 1)
        {
            if (denoise <= 0) return [];
            total = (int)Math.Round(steps * denoise, MidpointRounding.ToEven);
        }

        var sigmas = steps <= 20 ? rows[steps == 1 ? ^1 : steps - 2] : AlignYourSteps.LogLinear(rows[^1], steps + 1);
        var kept = sigmas[^(total + 1)..].Select(s => (float)s).ToArray();
        kept[^1] = 0;
        return kept;
    }

    private static Dictionary<string, double[][]> Load()
    {
        using var stream = typeof(Gits).Assembly.GetManifestResourceStream("FlowDiffusion.Diffusion.KDiffusion.GitsNoiseLevels.json")
            ?? throw new InvalidOperationException("the GITS noise levels resource is missing from FlowDiffusion.Diffusion");
        using var document = JsonDocument.Parse(stream);
        return document.RootElement.GetProperty("levels").EnumerateObject().ToDictionary(
            p => p.Name, p => p.Value.EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray(), StringComparer.Ordinal);
    }
}
