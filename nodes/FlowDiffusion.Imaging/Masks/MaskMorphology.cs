using System.Globalization;

namespace FlowDiffusion.Imaging.Masks;

/// <summary>
/// Grey dilation and erosion of masks by whole pixels, as ComfyUI's GrowMask defines them: <c>n</c> steps, each taking
/// every pixel's maximum (dilation) or minimum (erosion) over its 3 × 3 neighbourhood, or over the neighbourhood without
/// its corners (a cross, "tapered corners"), counting only pixels inside the mask (scipy's reflecting border gives the
/// same). <c>n</c> square steps reach the pixels within Chebyshev distance <c>n</c>, which a running maximum along the
/// rows and then the columns finds in one pass each, whatever <c>n</c>; cross steps reach those within Manhattan
/// distance <c>n</c>, which is done step by step and stops once a step changes nothing.
/// </summary>
public static class MaskMorphology
{
    /// <summary>
    /// The most pixel updates cross steps may take on one mask item (steps × height × width, steps counted up to the
    /// step after which nothing can change): a few seconds of work.
    /// </summary>
    public const long MaxCrossWork = 1L << 32;

    /// <summary>
    /// Dilates (<paramref name="steps"/> &gt; 0) or erodes (&lt; 0) each <paramref name="height"/> × <paramref name="width"/>
    /// item of <paramref name="values"/>; 0 returns a copy.
    /// </summary>
    /// <param name="values">The mask values, item after item, row after row.</param>
    /// <param name="height">An item's height.</param>
    /// <param name="width">An item's width.</param>
    /// <param name="steps">The steps: positive grows, negative shrinks.</param>
    /// <param name="taperedCorners">Whether a step's neighbourhood leaves out the corners (a cross) rather than the full 3 × 3 square.</param>
    /// <param name="cancellationToken">Stops the work between rows.</param>
    /// <exception cref="ArgumentException">The lengths do not match, or cross steps would exceed <see cref="MaxCrossWork"/>; the message says by how much.</exception>
    public static float[] Expand(ReadOnlySpan<float> values, int height, int width, int steps, bool taperedCorners, CancellationToken cancellationToken = default)
    {
        var plane = (long)height * width;
        if (height <= 0 || width <= 0 || values.Length % plane != 0)
            throw new ArgumentException($"expected items of {height} × {width} values, got {values.Length}", nameof(values));
        var grow = steps > 0;
        // Past these many steps nothing changes: every pixel already sees every other.
        var needed = (int)Math.Min(Math.Abs((long)steps), taperedCorners ? height + width - 2L : Math.Max(height, width) - 1L);
        if (taperedCorners && needed * plane > MaxCrossWork)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"expand {steps} with tapered corners on a {width} × {height} mask would take {needed:N0} steps over {plane:N0} pixels; at most {MaxCrossWork / plane:N0} steps at this size (without tapered corners any size is fast)"));
        var result = values.ToArray();
        if (steps == 0) return result;
        for (var start = 0; start < result.Length; start += (int)plane)
        {
            var item = result.AsSpan(start, (int)plane);
            if (needed == 0) continue;
            if (taperedCorners) Cross(item, height, width, needed, grow, cancellationToken);
            else Square(item, height, width, needed, grow, cancellationToken);
        }

        return result;
    }

    // Chebyshev ball of radius n: a running extreme over 2n + 1 along each row, then along each column.
    private static void Square(Span<float> item, int height, int width, int n, bool grow, CancellationToken cancellationToken) =>
        RunningExtreme.Box(item, height, width, n, n, grow, cancellationToken);

    // Manhattan ball of radius n: n steps of the cross (the pixel and its four neighbours inside the mask).
    private static void Cross(Span<float> item, int height, int width, int n, bool grow, CancellationToken cancellationToken)
    {
        var current = item.ToArray();
        var next = new float[current.Length];
        for (var step = 0; step < n; step++)
        {
            var changed = false;
            for (var y = 0; y < height; y++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var row = y * width;
                for (var x = 0; x < width; x++)
                {
                    var i = row + x;
                    var v = current[i];
                    if (grow)
                    {
                        if (x > 0 && current[i - 1] > v) v = current[i - 1];
                        if (x + 1 < width && current[i + 1] > v) v = current[i + 1];
                        if (y > 0 && current[i - width] > v) v = current[i - width];
                        if (y + 1 < height && current[i + width] > v) v = current[i + width];
                    }
                    else
                    {
                        if (x > 0 && current[i - 1] < v) v = current[i - 1];
                        if (x + 1 < width && current[i + 1] < v) v = current[i + 1];
                        if (y > 0 && current[i - width] < v) v = current[i - width];
                        if (y + 1 < height && current[i + width] < v) v = current[i + width];
                    }

                    changed |= v != current[i];
                    next[i] = v;
                }
            }

            (current, next) = (next, current);
            if (!changed) break;
        }

        current.CopyTo(item);
    }
}
