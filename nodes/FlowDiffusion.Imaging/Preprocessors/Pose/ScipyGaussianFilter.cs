namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// scipy.ndimage's <c>gaussian_filter</c> of a float64 plane as the OpenPose annotator calls it (truncate 4, mode
/// 'reflect': the edge sample repeated, d c b a | a b c d | d c b a): the kernel exp(−x²/2σ²) for |x| ≤ ⌊4σ + 0.5⌋
/// normalised by its sum (numpy's pairwise sum), correlated along the rows' axis first, then along the columns', each pass
/// summing the centre tap and then the symmetric pairs from the outermost inwards, as scipy's correlate1d does for a
/// symmetric kernel.
/// </summary>
public static class ScipyGaussianFilter
{
    /// <summary>The filtered plane (a new array).</summary>
    public static double[] Apply(double[] plane, int height, int width, double sigma)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(plane.Length, height * width);
        var weights = Kernel(sigma);
        var rows = new double[plane.Length];
        var line = new double[Math.Max(height, width)];
        for (var x = 0; x < width; x++)
        {
            for (var y = 0; y < height; y++) line[y] = plane[y * width + x];
            for (var y = 0; y < height; y++) rows[y * width + x] = Correlate(line, height, y, weights);
        }

        var result = new double[plane.Length];
        for (var y = 0; y < height; y++)
        {
            Array.Copy(rows, y * width, line, 0, width);
            for (var x = 0; x < width; x++) result[y * width + x] = Correlate(line, width, x, weights);
        }

        return result;
    }

    /// <summary>The half kernel, centre first: scipy's _gaussian_kernel1d at truncate 4.</summary>
    public static double[] Kernel(double sigma)
    {
        var radius = (int)(4.0 * sigma + 0.5);
        var full = new double[2 * radius + 1];
        double sum;
        for (var i = 0; i < full.Length; i++)
        {
            var x = i - radius;
            full[i] = Math.Exp(-0.5 / (sigma * sigma) * (x * x));
        }

        sum = PairwiseSum(full);
        var half = new double[radius + 1];
        for (var i = 0; i <= radius; i++) half[i] = full[radius + i] / sum;
        return half;
    }

    private static double Correlate(double[] line, int length, int at, double[] weights)
    {
        var sum = line[at] * weights[0];
        for (var j = weights.Length - 1; j >= 1; j--) sum += (line[Reflect(at - j, length)] + line[Reflect(at + j, length)]) * weights[j];
        return sum;
    }

    // numpy's pairwise summation for up to 128 values: eight running sums combined as a tree, then the rest in order.
    private static double PairwiseSum(double[] values)
    {
        if (values.Length < 8)
        {
            var plain = 0.0;
            foreach (var v in values) plain += v;
            return plain;
        }

        var r = new double[8];
        Array.Copy(values, r, 8);
        var whole = values.Length - values.Length % 8;
        for (var i = 8; i < whole; i += 8)
        for (var j = 0; j < 8; j++) r[j] += values[i + j];
        var sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (var i = whole; i < values.Length; i++) sum += values[i];
        return sum;
    }

    // 'reflect' (half-sample symmetric), periodic over 2·length for offsets past a whole length.
    private static int Reflect(int i, int length)
    {
        var period = 2 * length;
        i %= period;
        if (i < 0) i += period;
        return i < length ? i : period - 1 - i;
    }
}
