using System.Globalization;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// ComfyUI's SIGMAS utilities as edits of a schedule: SplitSigmas (a step), SplitSigmasDenoise (a denoise fraction) and
/// SetFirstSigma. The Comfy layer applies them to explicit sigmas itself; for a schedule diffusion.ksampler computes from the
/// model at run time it passes them on as text, edits separated by ';' and applied in order: <c>split STEP high|low</c>,
/// <c>split_denoise DENOISE high|low</c>, <c>first SIGMA</c>.
/// </summary>
public static class SigmaEdits
{
    /// <summary>The most edits one text may hold.</summary>
    public const int MaxEdits = 64;

    /// <summary>The largest sigma SetFirstSigma takes, as ComfyUI bounds it.</summary>
    public const double MaxFirstSigma = 20000;

    /// <summary>SplitSigmas: high is the sigmas up to and including <paramref name="step"/>, low the sigmas from it on.</summary>
    /// <param name="sigmas">The schedule.</param>
    /// <param name="step">The step to split at (≥ 0; past the end, high is all of them and low none).</param>
    public static (float[] High, float[] Low) Split(float[] sigmas, int step)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        var cut = Math.Clamp(step, 0, sigmas.Length);
        return (sigmas[..Math.Min(cut + 1, sigmas.Length)], sigmas[cut..]);
    }

    /// <summary>
    /// SplitSigmasDenoise: low is the last round(steps · denoise) steps (rounded half to even, as Python's round), high
    /// the steps before them. As in ComfyUI, a count of 0 leaves high empty (its sigmas[:-0]) and low the last sigma alone.
    /// </summary>
    /// <param name="sigmas">The schedule.</param>
    /// <param name="denoise">0 … 1.</param>
    public static (float[] High, float[] Low) SplitDenoise(float[] sigmas, double denoise)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        var steps = Math.Max(sigmas.Length - 1, 0);
        var total = (int)Math.Round(steps * Math.Clamp(denoise, 0, 1), MidpointRounding.ToEven);
        return (total == 0 ? [] : sigmas[..(sigmas.Length - total)], sigmas[^Math.Min(total + 1, sigmas.Length)..]);
    }

    /// <summary>SetFirstSigma: a copy with the first sigma replaced.</summary>
    /// <param name="sigmas">The schedule (at least one sigma).</param>
    /// <param name="sigma">The new first sigma.</param>
    public static float[] SetFirst(float[] sigmas, float sigma)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        if (sigmas.Length == 0) throw new ArgumentException("SetFirstSigma: the sigmas are empty, there is no first sigma to set");
        var copy = (float[])sigmas.Clone();
        copy[0] = sigma;
        return copy;
    }

    /// <summary>Applies the edits in <paramref name="edits"/> (see the class summary) in order.</summary>
    /// <param name="sigmas">The schedule.</param>
    /// <param name="edits">The edits; empty for none.</param>
    /// <exception cref="ArgumentException">An edit that does not parse or is out of range, or a first sigma that leaves the schedule not falling.</exception>
    public static float[] Apply(float[] sigmas, string edits)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        if (string.IsNullOrWhiteSpace(edits)) return sigmas;
        var parts = edits.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length > MaxEdits) throw new ArgumentException($"sigma_edits: {parts.Length} edits; at most {MaxEdits}");
        foreach (var part in parts)
        {
            var words = part.Split(' ', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            sigmas = words switch
            {
                ["split", var step, var half] when int.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s <= 10000 => Half(Split(sigmas, s), half, part),
                ["split_denoise", var denoise, var half] when Number(denoise) is { } d && d is >= 0 and <= 1 => Half(SplitDenoise(sigmas, d), half, part),
                ["first", var sigma] when Number(sigma) is { } f && f is >= 0 and <= MaxFirstSigma => First(sigmas, (float)f),
                _ => throw new ArgumentException($"sigma_edits: '{part}' is not an edit; use 'split STEP high|low' (STEP 0 … 10000), 'split_denoise DENOISE high|low' (0 … 1) or 'first SIGMA' (0 … {MaxFirstSigma}), separated by ';'"),
            };
        }

        return sigmas;
    }

    // The first sigma replaced; the samplers walk falling sigmas, so it must stay above the next one.
    private static float[] First(float[] sigmas, float sigma)
    {
        var result = SetFirst(sigmas, sigma);
        if (result.Length > 1 && !(result[0] > result[1]))
            throw new ArgumentException($"sigma_edits: first sigma {sigma.ToString(CultureInfo.InvariantCulture)} is not above the next, {result[1].ToString(CultureInfo.InvariantCulture)}; the samplers need falling sigmas");
        return result;
    }

    private static float[] Half((float[] High, float[] Low) split, string half, string part) => half switch
    {
        "high" => split.High,
        "low" => split.Low,
        _ => throw new ArgumentException($"sigma_edits: '{part}' must end in high or low"),
    };

    private static double? Number(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value : null;
}
