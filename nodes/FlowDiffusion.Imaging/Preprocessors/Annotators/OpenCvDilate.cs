namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// <c>cv2.dilate(plane, kernel)</c> with a 3×3 kernel of 0s and 1s, one iteration, anchored at its centre: each value is
/// the maximum over the kernel's taps; OpenCV's default border (BORDER_CONSTANT with the "no value" border for dilation)
/// adds nothing, so taps outside the plane are skipped.
/// </summary>
public static class OpenCvDilate
{
    /// <summary>Dilates one plane of <paramref name="height"/> × <paramref name="width"/> values by <paramref name="kernel"/> (9 flags, row by row).</summary>
    public static float[] Dilate3x3(ReadOnlySpan<float> plane, int height, int width, ReadOnlySpan<bool> kernel)
    {
        if (plane.Length != (long)height * width) throw new ArgumentException($"expected {height} × {width} values, got {plane.Length}", nameof(plane));
        if (kernel.Length != 9) throw new ArgumentException($"a 3×3 kernel has 9 taps, got {kernel.Length}", nameof(kernel));
        var result = new float[plane.Length];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var best = float.NegativeInfinity;
                for (var k = 0; k < 9; k++)
                {
                    int sy = y + k / 3 - 1, sx = x + k % 3 - 1;
                    if (kernel[k] && sy >= 0 && sy < height && sx >= 0 && sx < width) best = Math.Max(best, plane[sy * width + sx]);
                }

                result[y * width + x] = best;
            }
        }

        return result;
    }
}
