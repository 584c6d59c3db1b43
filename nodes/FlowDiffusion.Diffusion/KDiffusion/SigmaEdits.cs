using System.Globalization;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// ComfyUI's SIGMAS utilities as edits of a schedule: SplitSigmas (a step), SplitSigmasDenoise (a denoise fraction),
/// SetFirstSigma, FlipSigmas and ExtendIntermediateSigmas. The Comfy layer applies them to explicit sigmas itself; for a schedule diffusion.ksampler computes from the
/// model at run time it passes them on as text, edits separated by ';' and applied in order: <c>split STEP high|low</c>,
/// <c>split_denoise DENOISE high|low</c>, <c>first SIGMA</c>, <c>flip</c>, <c>extend STEPS START END linear|cosine|sine</c>.
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

    /// <summary>
    /// FlipSigmas: the sigmas in reverse order, a first sigma of 0 (the falling schedule's end) replaced by 0.0001, as
    /// ComfyUI does, so that the rising schedule starts where the samplers can divide by it.
    /// </summary>
    /// <param name="sigmas">The schedule.</param>
    public static float[] Flip(float[] sigmas)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        var flipped = sigmas.Reverse().ToArray();
        if (flipped.Length > 0 && flipped[0] == 0) flipped[0] = 0.0001f;
        return flipped;
    }

    /// <summary>The most sigmas an edit may make (10,000 steps, KSampler's most).</summary>
    public const int MaxSigmas = 10001;

    /// <summary>ExtendIntermediateSigmas' spacings.</summary>
    public static IReadOnlyList<string> Spacings { get; } = ["linear", "cosine", "sine"];

    /// <summary>The most intermediate steps ExtendIntermediateSigmas makes of one step, as ComfyUI bounds it.</summary>
    public const int MaxExtendSteps = 100;

    /// <summary>
    /// ExtendIntermediateSigmas: each step whose sigma lies in [<paramref name="endAt"/>, <paramref name="startAt"/>]
    /// (a negative <paramref name="startAt"/> is no upper bound) split into <paramref name="steps"/> steps, the sigmas
    /// between at σ + f(k / steps)·(σ_next − σ) for k = 1 … steps − 1, with f the identity (linear), sin(xπ/2) (cosine) or
    /// 1 − cos(xπ/2) (sine); in float32 from torch's float32 linspace, as ComfyUI computes them.
    /// </summary>
    /// <param name="sigmas">The schedule.</param>
    /// <param name="steps">1 … <see cref="MaxExtendSteps"/>; 1 changes nothing.</param>
    /// <param name="startAt">The highest sigma whose step is split; below 0 for all.</param>
    /// <param name="endAt">The lowest sigma whose step is split.</param>
    /// <param name="spacing">One of <see cref="Spacings"/>.</param>
    public static float[] Extend(float[] sigmas, int steps, double startAt, double endAt, string spacing)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        if (steps is < 1 or > MaxExtendSteps) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"ExtendIntermediateSigmas: steps must be 1 … {MaxExtendSteps}");
        Func<float, float> shape = spacing switch
        {
            "linear" => x => x,
            "cosine" => x => MathF.Sin(x * MathF.PI / 2),
            "sine" => x => 1 - MathF.Cos(x * MathF.PI / 2),
            _ => throw new ArgumentException($"ExtendIntermediateSigmas: spacing '{spacing}' is not one of {string.Join(", ", Spacings)}", nameof(spacing)),
        };
        var spaced = SigmaSchedules.TorchLinspace(0, 1, steps + 1)[1..^1].Select(shape).ToArray();
        // torch compares the float32 sigma with the Python floats as float32.
        float high = startAt < 0 ? float.PositiveInfinity : (float)startAt, low = (float)endAt;
        var split = sigmas.Take(Math.Max(sigmas.Length - 1, 0)).LongCount(sigma => low <= sigma && sigma <= high);
        if (sigmas.Length + split * spaced.Length > MaxSigmas)
            throw new ArgumentException($"ExtendIntermediateSigmas: {sigmas.Length + split * spaced.Length} sigmas; at most {MaxSigmas} (10,000 steps)");
        var extended = new List<float>();
        for (var i = 0; i + 1 < sigmas.Length; i++)
        {
            float sigma = sigmas[i], next = sigmas[i + 1];
            extended.Add(sigma);
            if (low <= sigma && sigma <= high) extended.AddRange(spaced.Select(x => x * (next - sigma) + sigma));
        }

        if (sigmas.Length > 0) extended.Add(sigmas[^1]);
        return [.. extended];
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
                ["flip"] => Flip(sigmas),
                ["extend", var steps, var start, var end, var spacing]
                    when int.TryParse(steps, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxExtendSteps && Number(start) is { } a
                        && a is >= -1 and <= MaxFirstSigma && Number(end) is { } b && b is >= 0 and <= MaxFirstSigma && Spacings.Contains(spacing)
                    => Extend(sigmas, n, a, b, spacing),
                _ => throw new ArgumentException($"sigma_edits: '{part}' is not an edit; use 'split STEP high|low' (STEP 0 … 10000), 'split_denoise DENOISE high|low' (0 … 1) 'first SIGMA' (0 … {MaxFirstSigma}), 'flip' or 'extend STEPS START END linear|cosine|sine' (1 … {MaxExtendSteps}; −1 … {MaxFirstSigma}; 0 … {MaxFirstSigma}), separated by ';'"),
            };
        }

        return sigmas;
    }

    // The first sigma replaced; the samplers walk strictly falling or strictly rising sigmas, so the result must still be one.
    private static float[] First(float[] sigmas, float sigma)
    {
        var result = SetFirst(sigmas, sigma);
        if (RisingSigmas.CheckOrder(result) is { } error)
            throw new ArgumentException($"sigma_edits: first sigma {sigma.ToString(CultureInfo.InvariantCulture)}: {error}");
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
