namespace FlowDiffusion.Imaging.Compositing;

/// <summary>
/// ComfyUI's Porter-Duff compositing (PorterDuffImageComposite): the masks are 1 − alpha, the colours are premultiplied
/// by their alpha, the mode gives the premultiplied result and its alpha, and the colour is divided back by the alpha
/// where that is above 10⁻⁵ (0 elsewhere) and clamped to 0 … 1; the result's mask is 1 − its alpha. The modes follow
/// ComfyUI's formulas, including its darken and lighten (the sum of both uncovered parts plus the min or max of the
/// premultiplied colours) and its overlay (chosen per channel by 2 · destination &lt; destination alpha). float32 throughout.
/// </summary>
public static class PorterDuff
{
    /// <summary>The modes, as ComfyUI names them.</summary>
    public static readonly string[] Modes =
        ["ADD", "CLEAR", "DARKEN", "DST", "DST_ATOP", "DST_IN", "DST_OUT", "DST_OVER", "LIGHTEN", "MULTIPLY", "OVERLAY", "SCREEN", "SRC", "SRC_ATOP", "SRC_IN", "SRC_OUT", "SRC_OVER", "XOR"];

    /// <summary>
    /// Composites one item: <paramref name="source"/> over (or in, out …) <paramref name="destination"/>, both planar
    /// [channels, plane], with one mask value per pixel each.
    /// </summary>
    /// <param name="source">The source colours, channel planes of <paramref name="sourceMask"/>'s length.</param>
    /// <param name="sourceMask">The source's mask (1 − alpha).</param>
    /// <param name="destination">The destination colours, as <paramref name="source"/>.</param>
    /// <param name="destinationMask">The destination's mask (1 − alpha).</param>
    /// <param name="mode">One of <see cref="Modes"/>.</param>
    /// <param name="image">The result's colours, as <paramref name="source"/>.</param>
    /// <param name="mask">The result's mask (1 − alpha), one value per pixel.</param>
    /// <exception cref="ArgumentException">An unknown mode, or lengths that do not match.</exception>
    public static void Composite(ReadOnlySpan<float> source, ReadOnlySpan<float> sourceMask, ReadOnlySpan<float> destination, ReadOnlySpan<float> destinationMask,
        string mode, Span<float> image, Span<float> mask)
    {
        var plane = sourceMask.Length;
        if (plane == 0 || destinationMask.Length != plane || mask.Length != plane || source.Length % plane != 0 || destination.Length != source.Length || image.Length != source.Length)
            throw new ArgumentException("the source, destination and result must have the same size and channels");
        var operation = Operation(mode);
        var channels = source.Length / plane;
        for (var i = 0; i < plane; i++)
        {
            float sa = 1 - sourceMask[i], da = 1 - destinationMask[i];
            var alpha = 0f;
            for (var c = 0; c < channels; c++)
            {
                var k = c * plane + i;
                float s = source[k] * sa, d = destination[k] * da;
                (var colour, alpha) = operation(s, sa, d, da);
                colour = alpha > 1e-5f ? colour / alpha : 0f;
                image[k] = Math.Clamp(colour, 0f, 1f);
            }

            mask[i] = 1 - alpha;
        }
    }

    // (premultiplied source, source alpha, premultiplied destination, destination alpha) → (premultiplied colour, alpha).
    private static Func<float, float, float, float, (float, float)> Operation(string mode) => mode switch
    {
        "ADD" => static (s, sa, d, da) => (Math.Clamp(s + d, 0f, 1f), Math.Clamp(sa + da, 0f, 1f)),
        "CLEAR" => static (_, _, _, _) => (0f, 0f),
        "DARKEN" => static (s, sa, d, da) => ((1 - da) * s + (1 - sa) * d + MathF.Min(s, d), sa + da - sa * da),
        "DST" => static (_, _, d, da) => (d, da),
        "DST_ATOP" => static (s, sa, d, da) => (sa * d + (1 - da) * s, sa),
        "DST_IN" => static (_, sa, d, da) => (d * sa, sa * da),
        "DST_OUT" => static (_, sa, d, da) => ((1 - sa) * d, (1 - sa) * da),
        "DST_OVER" => static (s, sa, d, da) => (d + (1 - da) * s, da + (1 - da) * sa),
        "LIGHTEN" => static (s, sa, d, da) => ((1 - da) * s + (1 - sa) * d + MathF.Max(s, d), sa + da - sa * da),
        "MULTIPLY" => static (s, sa, d, da) => (s * d, sa * da),
        "OVERLAY" => static (s, sa, d, da) => (2 * d < da ? 2 * s * d : sa * da - 2 * (da - s) * (sa - d), sa + da - sa * da),
        "SCREEN" => static (s, sa, d, da) => (s + d - s * d, sa + da - sa * da),
        "SRC" => static (s, sa, _, _) => (s, sa),
        "SRC_ATOP" => static (s, sa, d, da) => (da * s + (1 - sa) * d, da),
        "SRC_IN" => static (s, sa, _, da) => (s * da, sa * da),
        "SRC_OUT" => static (s, sa, _, da) => ((1 - da) * s, (1 - da) * sa),
        "SRC_OVER" => static (s, sa, d, da) => (s + (1 - sa) * d, sa + (1 - sa) * da),
        "XOR" => static (s, sa, d, da) => ((1 - da) * s + (1 - sa) * d, (1 - da) * sa + (1 - sa) * da),
        _ => throw new ArgumentException($"mode must be one of {string.Join(", ", Modes)}; got '{mode}'", nameof(mode)),
    };
}
