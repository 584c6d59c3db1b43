namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// <c>cv2.resize</c> of 8-bit RGB images in OpenCV's own arithmetic, for the annotators that call it:
/// <list type="bullet">
/// <item>INTER_AREA shrinking: each output pixel is the area-weighted mean of the source pixels it covers (weights and sums
/// in float32, rounded half to even); a whole-number factor on both axes sums whole blocks (2 × 2: (sum + 2) >> 2).
/// INTER_AREA enlarging (either axis): bilinear with OpenCV's area offsets (source floor(d·scale), fraction
/// (d + 1) − (s + 1)/scale), 11-bit weights and OpenCV's vectorised rounding of the vertical pass.</item>
/// <item>INTER_CUBIC: Keys' cubic with a = −0.75 at (d + 0.5)·scale − 0.5, no antialiasing, borders replicated,
/// coefficients rounded to 11 bits, (sum + 2²¹) >> 22.</item>
/// <item>INTER_CUBIC of float64 images (<see cref="CubicDouble"/>): the same taps with float32 coefficients, sums in double.</item>
/// <item>INTER_LANCZOS4 (<see cref="Lanczos4(Rgb8Image, int, int)"/>): eight Lanczos taps from OpenCV's interpolateLanczos4, 11-bit
/// coefficients as for cubic; of float64 planes (<see cref="Lanczos4Double"/>) the float32 taps with sums in double.</item>
/// <item>INTER_AREA shrinking of float64 planes (<see cref="AreaDouble"/>): the same table, sums in double.</item>
/// <item>INTER_NEAREST: source floor(d·scale).</item>
/// </list>
/// scale is OpenCV's 1 / (destination / source). Checked against Debian's OpenCV 4.6 (tools/reference/aux_preprocessors.py
/// --check): area and nearest exact; cubic a level apart at a few pixels in 10⁵ (OpenCV rounds its vectorised vertical
/// cubic pass in float32).
/// </summary>
public static class OpenCvResize
{
    private const int CoefScale = 2048;

    // C's DBL_EPSILON, OpenCV's tolerance for a whole-number scale.
    private const double DoubleEpsilon = 2.220446049250313e-16;

    // C's FLT_EPSILON.
    private const float FloatEpsilon = 1.1920929e-07f;

    /// <summary>INTER_AREA to <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static Rgb8Image Area(Rgb8Image source, int height, int width)
    {
        CheckSize(height, width);
        if (height == source.Height && width == source.Width) return source;
        if (width <= source.Width && height <= source.Height) return Shrink(source, height, width);
        return AreaBilinear(source, height, width);
    }

    /// <summary>INTER_CUBIC to <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static Rgb8Image Cubic(Rgb8Image source, int height, int width) => Cubic(source, height, width, null);

    /// <summary>
    /// INTER_CUBIC by <paramref name="factor"/> on both axes (<c>cv2.resize(image, (0, 0), fx=factor, fy=factor)</c>): each
    /// side round(side · factor), half to even, and the taps at the factor itself rather than the sides' ratio.
    /// </summary>
    public static Rgb8Image CubicByFactor(Rgb8Image source, double factor)
    {
        int height = (int)Math.Round(source.Height * factor, MidpointRounding.ToEven), width = (int)Math.Round(source.Width * factor, MidpointRounding.ToEven);
        return Cubic(source, height, width, 1.0 / factor);
    }

    private static Rgb8Image Cubic(Rgb8Image source, int height, int width, double? scale)
    {
        CheckSize(height, width);
        if (height == source.Height && width == source.Width && scale is null) return source;
        return Separable(source, height, width, CubicTaps(source.Width, width, scale), CubicTaps(source.Height, height, scale));
    }

    /// <summary>
    /// INTER_LANCZOS4 to <paramref name="height"/> × <paramref name="width"/>: eight taps of the Lanczos window (a = 4) at
    /// (d + 0.5)·scale − 0.5, normalised in float32, borders replicated, coefficients rounded to 11 bits, (sum + 2²¹) >> 22.
    /// </summary>
    public static Rgb8Image Lanczos4(Rgb8Image source, int height, int width)
    {
        CheckSize(height, width);
        if (height == source.Height && width == source.Width) return source;
        return Separable(source, height, width, Integer(Lanczos4FloatTaps(source.Width, width)), Integer(Lanczos4FloatTaps(source.Height, height)));
    }

    // OpenCV's fixed-point separable resize of 8-bit images: rows with 11-bit coefficients, then columns, (sum + 2²¹) >> 22.
    private static Rgb8Image Separable(Rgb8Image source, int height, int width, (int[] Index, int[] Weight)[] xTaps, (int[] Index, int[] Weight)[] yTaps)
    {
        var rows = new int[source.Height * width * 3];
        for (var y = 0; y < source.Height; y++)
        for (var x = 0; x < width; x++)
        {
            var (index, weight) = xTaps[x];
            for (var c = 0; c < 3; c++)
            {
                var sum = 0;
                for (var k = 0; k < index.Length; k++) sum += source.Pixels[3 * (y * source.Width + index[k]) + c] * weight[k];
                rows[3 * (y * width + x) + c] = sum;
            }
        }

        var pixels = new byte[height * width * 3];
        for (var y = 0; y < height; y++)
        {
            var (index, weight) = yTaps[y];
            for (var i = 0; i < width * 3; i++)
            {
                long sum = 0;
                for (var k = 0; k < index.Length; k++) sum += (long)rows[index[k] * width * 3 + i] * weight[k];
                pixels[y * width * 3 + i] = (byte)Math.Clamp((sum + (1 << 21)) >> 22, 0, 255);
            }
        }

        return new Rgb8Image(height, width, pixels);
    }

    /// <summary>INTER_CUBIC of an interleaved float64 image of <paramref name="channels"/> channels to <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static double[] CubicDouble(double[] source, int sourceHeight, int sourceWidth, int channels, int height, int width)
    {
        CheckSize(height, width);
        if (height == sourceHeight && width == sourceWidth) return (double[])source.Clone();
        return SeparableDouble(source, sourceHeight, sourceWidth, channels, height, width, CubicFloatTaps(sourceWidth, width), CubicFloatTaps(sourceHeight, height));
    }

    /// <summary>INTER_LANCZOS4 of one float64 plane to <paramref name="height"/> × <paramref name="width"/>: <see cref="Lanczos4(Rgb8Image, int, int)"/>'s float32 taps, sums in double.</summary>
    public static double[] Lanczos4Double(double[] source, int sourceHeight, int sourceWidth, int height, int width)
    {
        CheckSize(height, width);
        if (height == sourceHeight && width == sourceWidth) return (double[])source.Clone();
        return SeparableDouble(source, sourceHeight, sourceWidth, 1, height, width, Lanczos4FloatTaps(sourceWidth, width), Lanczos4FloatTaps(sourceHeight, height));
    }

    /// <summary>
    /// INTER_AREA shrinking of one float64 plane to <paramref name="height"/> × <paramref name="width"/> (no larger than it):
    /// <see cref="Area"/>'s table of covered source pixels, its float32 weights, sums in double.
    /// </summary>
    public static double[] AreaDouble(double[] source, int sourceHeight, int sourceWidth, int height, int width)
    {
        CheckSize(height, width);
        if (height > sourceHeight || width > sourceWidth) throw new ArgumentException($"AreaDouble shrinks only: {sourceWidth}×{sourceHeight} to {width}×{height}");
        if (height == sourceHeight && width == sourceWidth) return (double[])source.Clone();
        var xTable = AreaTable(sourceWidth, width, Scale(sourceWidth, width));
        var yTable = AreaTable(sourceHeight, height, Scale(sourceHeight, height)).ToLookup(t => t.Destination);
        var result = new double[height * width];
        var buffer = new double[width];
        for (var dy = 0; dy < height; dy++)
        {
            foreach (var (_, sy, beta) in yTable[dy])
            {
                Array.Clear(buffer);
                foreach (var (dx, sx, alpha) in xTable) buffer[dx] += source[sy * sourceWidth + sx] * alpha;
                for (var x = 0; x < width; x++) result[dy * width + x] += buffer[x] * beta;
            }
        }

        return result;
    }

    // A separable resize of an interleaved float64 image with float32 taps, sums in double.
    private static double[] SeparableDouble(double[] source, int sourceHeight, int sourceWidth, int channels, int height, int width, (int[] Index, float[] Weight)[] xTaps, (int[] Index, float[] Weight)[] yTaps)
    {
        var rows = new double[sourceHeight * width * channels];
        for (var y = 0; y < sourceHeight; y++)
        for (var x = 0; x < width; x++)
        {
            var (index, weight) = xTaps[x];
            for (var c = 0; c < channels; c++)
            {
                var sum = 0.0;
                for (var k = 0; k < index.Length; k++) sum += source[channels * (y * sourceWidth + index[k]) + c] * weight[k];
                rows[channels * (y * width + x) + c] = sum;
            }
        }

        var result = new double[height * width * channels];
        for (var y = 0; y < height; y++)
        {
            var (index, weight) = yTaps[y];
            for (var i = 0; i < width * channels; i++)
            {
                var sum = 0.0;
                for (var k = 0; k < index.Length; k++) sum += rows[index[k] * width * channels + i] * weight[k];
                result[y * width * channels + i] = sum;
            }
        }

        return result;
    }

    /// <summary>INTER_NEAREST to <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static Rgb8Image Nearest(Rgb8Image source, int height, int width)
    {
        CheckSize(height, width);
        if (height == source.Height && width == source.Width) return source;
        double fx = 1.0 / ((double)width / source.Width), fy = 1.0 / ((double)height / source.Height);
        var pixels = new byte[height * width * 3];
        for (var y = 0; y < height; y++)
        {
            var sy = Math.Min((int)Math.Floor(y * fy), source.Height - 1);
            for (var x = 0; x < width; x++)
            {
                var sx = Math.Min((int)Math.Floor(x * fx), source.Width - 1);
                source.Pixels.AsSpan(3 * (sy * source.Width + sx), 3).CopyTo(pixels.AsSpan(3 * (y * width + x)));
            }
        }

        return new Rgb8Image(height, width, pixels);
    }

    private static void CheckSize(int height, int width)
    {
        if (height < 1 || width < 1) throw new ArgumentException($"cannot resize to {width}×{height}: both sides must be at least 1");
    }

    private static double Scale(int source, int destination) => 1.0 / ((double)destination / source);

    private static Rgb8Image Shrink(Rgb8Image source, int height, int width)
    {
        double scaleX = Scale(source.Width, width), scaleY = Scale(source.Height, height);
        int wholeX = (int)Math.Round(scaleX), wholeY = (int)Math.Round(scaleY);
        if (Math.Abs(scaleX - wholeX) < DoubleEpsilon && Math.Abs(scaleY - wholeY) < DoubleEpsilon)
            return ShrinkByBlocks(source, height, width, wholeY, wholeX);
        var xTable = AreaTable(source.Width, width, scaleX);
        var yTable = AreaTable(source.Height, height, scaleY).ToLookup(t => t.Destination);
        var pixels = new byte[height * width * 3];
        var buffer = new float[width * 3];
        var total = new float[width * 3];
        for (var dy = 0; dy < height; dy++)
        {
            var first = true;
            foreach (var (_, sy, beta) in yTable[dy])
            {
                Array.Clear(buffer);
                var row = source.Pixels.AsSpan(sy * source.Width * 3, source.Width * 3);
                foreach (var (dx, sx, alpha) in xTable)
                    for (var c = 0; c < 3; c++) buffer[3 * dx + c] += row[3 * sx + c] * alpha;
                for (var i = 0; i < total.Length; i++) total[i] = first ? buffer[i] * beta : total[i] + buffer[i] * beta;
                first = false;
            }

            for (var i = 0; i < total.Length; i++) pixels[dy * width * 3 + i] = (byte)Math.Clamp(MathF.Round(total[i]), 0f, 255f);
        }

        return new Rgb8Image(height, width, pixels);
    }

    private static Rgb8Image ShrinkByBlocks(Rgb8Image source, int height, int width, int blockHeight, int blockWidth)
    {
        var pixels = new byte[height * width * 3];
        var scale = 1f / (blockHeight * blockWidth);
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        for (var c = 0; c < 3; c++)
        {
            var sum = 0;
            for (var j = 0; j < blockHeight; j++)
            for (var i = 0; i < blockWidth; i++) sum += source.Pixels[3 * ((y * blockHeight + j) * source.Width + x * blockWidth + i) + c];
            pixels[3 * (y * width + x) + c] = blockHeight == 2 && blockWidth == 2
                ? (byte)((sum + 2) >> 2)
                : (byte)Math.Clamp(MathF.Round(sum * scale), 0f, 255f);
        }

        return new Rgb8Image(height, width, pixels);
    }

    // OpenCV's area table along one axis: (destination, source, weight), the partly covered source pixels at either end
    // weighted by the part covered, over the cell's width (the last cell clipped to the image).
    private static List<(int Destination, int Source, float Weight)> AreaTable(int source, int destination, double scale)
    {
        var table = new List<(int, int, float)>();
        for (var d = 0; d < destination; d++)
        {
            var f1 = d * scale;
            var f2 = f1 + scale;
            var cell = Math.Min(scale, source - f1);
            int s1 = (int)Math.Ceiling(f1), s2 = Math.Min((int)Math.Floor(f2), source - 1);
            s1 = Math.Min(s1, s2);
            if (s1 - f1 > 1e-3) table.Add((d, s1 - 1, (float)((s1 - f1) / cell)));
            for (var s = s1; s < s2; s++) table.Add((d, s, (float)(1.0 / cell)));
            if (f2 - s2 > 1e-3) table.Add((d, s2, (float)(Math.Min(Math.Min(f2 - s2, 1.0), cell) / cell)));
        }

        return table;
    }

    private static Rgb8Image AreaBilinear(Rgb8Image source, int height, int width)
    {
        var xTaps = AreaBilinearTaps(source.Width, width);
        var yTaps = AreaBilinearTaps(source.Height, height);
        var rows = new int[source.Height * width * 3];
        for (var y = 0; y < source.Height; y++)
        for (var x = 0; x < width; x++)
        {
            var (s0, s1, w0, w1) = xTaps[x];
            for (var c = 0; c < 3; c++)
                rows[3 * (y * width + x) + c] = source.Pixels[3 * (y * source.Width + s0) + c] * w0 + source.Pixels[3 * (y * source.Width + s1) + c] * w1;
        }

        var pixels = new byte[height * width * 3];
        for (var y = 0; y < height; y++)
        {
            var (r0, r1, b0, b1) = yTaps[y];
            for (var i = 0; i < width * 3; i++)
            {
                // OpenCV's vectorised vertical pass: each sum >> 4 times the weight, the high 16 bits of each, then >> 2 rounded.
                var v = (((rows[r0 * width * 3 + i] >> 4) * b0) >> 16) + (((rows[r1 * width * 3 + i] >> 4) * b1) >> 16);
                pixels[y * width * 3 + i] = (byte)Math.Clamp((v + 2) >> 2, 0, 255);
            }
        }

        return new Rgb8Image(height, width, pixels);
    }

    private static (int S0, int S1, int W0, int W1)[] AreaBilinearTaps(int source, int destination)
    {
        var inverse = (double)destination / source;
        var scale = 1.0 / inverse;
        var taps = new (int, int, int, int)[destination];
        for (var d = 0; d < destination; d++)
        {
            var s = (int)Math.Floor(d * scale);
            var f = (float)((d + 1) - (s + 1) * inverse);
            f = f <= 0 ? 0f : f - MathF.Floor(f);
            if (s >= source - 1) (f, s) = (0f, source - 1);
            taps[d] = (s, Math.Min(s + 1, source - 1), (int)MathF.Round((1f - f) * CoefScale), (int)MathF.Round(f * CoefScale));
        }

        return taps;
    }

    private static (int[] Index, int[] Weight)[] CubicTaps(int source, int destination, double? scale = null) => Integer(CubicFloatTaps(source, destination, scale));

    // OpenCV's 11-bit coefficients: each float tap × 2048, rounded half to even.
    private static (int[] Index, int[] Weight)[] Integer((int[] Index, float[] Weight)[] taps) =>
        [.. taps.Select(t => (t.Index, t.Weight.Select(w => (int)MathF.Round(w * CoefScale)).ToArray()))];

    private static (int[] Index, float[] Weight)[] Lanczos4FloatTaps(int source, int destination)
    {
        var scale = Scale(source, destination);
        var taps = new (int[], float[])[destination];
        for (var d = 0; d < destination; d++)
        {
            var f = (float)((d + 0.5) * scale - 0.5);
            var s = (int)MathF.Floor(f);
            f -= s;
            var index = new int[8];
            for (var k = 0; k < 8; k++) index[k] = Math.Clamp(s + k - 3, 0, source - 1);
            taps[d] = (index, Lanczos4Weights(f));
        }

        return taps;
    }

    // OpenCV's interpolateLanczos4: sin(πy/4)·sin(πy)/(π²y²/4) at y = x + 3 − i through the sine of the first tap and the
    // 45° rotations, each stored as float32, then scaled by the float32 reciprocal of their float32 sum; x ≈ 0 picks tap 3.
    private static float[] Lanczos4Weights(float x)
    {
        var weights = new float[8];
        if (x < FloatEpsilon)
        {
            weights[3] = 1;
            return weights;
        }

        const double s45 = 0.70710678118654752440084436210485;
        double[,] cs = { { 1, 0 }, { -s45, -s45 }, { 0, 1 }, { s45, -s45 }, { -1, 0 }, { s45, s45 }, { 0, -1 }, { -s45, s45 } };
        var y0 = -(x + 3) * Math.PI * 0.25;
        double s0 = Math.Sin(y0), c0 = Math.Cos(y0);
        var sum = 0f;
        for (var i = 0; i < 8; i++)
        {
            var y = -(x + 3 - i) * Math.PI * 0.25;
            weights[i] = (float)((cs[i, 0] * s0 + cs[i, 1] * c0) / (y * y));
            sum += weights[i];
        }

        sum = 1f / sum;
        for (var i = 0; i < 8; i++) weights[i] *= sum;
        return weights;
    }

    private static (int[] Index, float[] Weight)[] CubicFloatTaps(int source, int destination, double? factorScale = null)
    {
        var scale = factorScale ?? Scale(source, destination);
        var taps = new (int[], float[])[destination];
        for (var d = 0; d < destination; d++)
        {
            var f = (float)((d + 0.5) * scale - 0.5);
            var s = (int)MathF.Floor(f);
            f -= s;
            var index = new int[4];
            for (var k = 0; k < 4; k++) index[k] = Math.Clamp(s + k - 1, 0, source - 1);
            taps[d] = (index, CubicWeights(f));
        }

        return taps;
    }

    // Keys' cubic convolution weights for the four taps around fraction x, a = −0.75, in float32 as OpenCV computes them.
    private static float[] CubicWeights(float x)
    {
        const float a = -0.75f;
        var c0 = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a;
        var c1 = ((a + 2) * x - (a + 3)) * x * x + 1;
        var c2 = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1;
        var c3 = 1f - c0 - c1 - c2;
        return [c0, c1, c2, c3];
    }
}
