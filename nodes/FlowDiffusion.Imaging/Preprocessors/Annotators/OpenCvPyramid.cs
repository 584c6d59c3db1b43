namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// <c>cv2.pyrUp</c> of an 8-bit RGB image: twice the size, each axis through the binomial [1 4 6 4 1] / 8 on the doubled
/// grid (even outputs x[i−1] + 6x[i] + x[i+1], odd ones 4(x[i] + x[i+1])), the top and left border reflected without
/// repeating the edge (x[−1] = x[1]) and the bottom and right one repeating it (x[n] = x[n−1]), as OpenCV's pyrUp
/// does; the 2-D sum is rounded as (sum + 32) >> 6. Exact against OpenCV 4.6.
/// </summary>
public static class OpenCvPyramid
{
    /// <summary>The image enlarged twice by pyrUp.</summary>
    public static Rgb8Image Up(Rgb8Image source)
    {
        int height = source.Height, width = source.Width;
        var values = new int[source.Pixels.Length];
        for (var i = 0; i < values.Length; i++) values[i] = source.Pixels[i];
        // Rows: n = width samples 3 apart; then columns: n = height samples a doubled row apart.
        var across = Upsample(values, outer: height, n: width, step: 3, inner: 3);
        var both = Upsample(across, outer: 1, n: height, step: 2 * width * 3, inner: 2 * width * 3);
        var pixels = new byte[both.Length];
        for (var i = 0; i < both.Length; i++) pixels[i] = (byte)((both[i] + 32) >> 6);
        return new Rgb8Image(2 * height, 2 * width, pixels);
    }

    // Doubles the axis of n samples, step apart, in each of outer blocks of n·step values, for inner interleaved series
    // (inner ≤ step); unnormalised: the even and the odd taps each sum to 8.
    private static int[] Upsample(int[] source, int outer, int n, int step, int inner)
    {
        var result = new int[source.Length * 2];
        for (var o = 0; o < outer; o++)
        for (var i = 0; i < n; i++)
        for (var k = 0; k < inner; k++)
        {
            int At(int j) => source[o * n * step + j * step + k];
            var x = At(i);
            var before = n == 1 ? x : At(i == 0 ? 1 : i - 1);
            var after = At(Math.Min(i + 1, n - 1));
            result[o * 2 * n * step + 2 * i * step + k] = before + 6 * x + after;
            result[o * 2 * n * step + (2 * i + 1) * step + k] = 4 * (x + after);
        }

        return result;
    }
}
