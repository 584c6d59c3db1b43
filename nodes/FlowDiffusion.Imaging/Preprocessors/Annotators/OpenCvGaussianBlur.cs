namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// <c>cv2.GaussianBlur(image, (0, 0), sigma)</c> of a float32 image, as the lineart and XDoG annotators call it: the
/// kernel size comes from sigma (round(8σ + 1) | 1 taps for float images), the taps are exp(−x² / 2σ²) normalised and
/// stored as float32, the border is reflected without repeating the edge pixel (BORDER_REFLECT_101, bouncing as often as
/// a wide kernel needs), rows first, then columns; each sum is taken in double and stored as float32. OpenCV's own sums
/// are float32 in another order: the two agree within 10⁻⁴ on 0..255 images (tools/reference/aux_preprocessors.py --check).
/// </summary>
public static class OpenCvGaussianBlur
{
    /// <summary>The float32 taps for <paramref name="sigma"/>.</summary>
    public static float[] Taps(double sigma) => Gaussian(sigma, 8).Select(v => (float)v).ToArray();

    // exp(−x² / 2σ²) over round(span·σ + 1) | 1 taps, normalised (OpenCV: span 8 for float images, 6 for 8-bit ones).
    private static double[] Gaussian(double sigma, int span)
    {
        if (!(sigma > 0) || double.IsInfinity(sigma)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "the gaussian's sigma must be a positive number");
        var n = (int)Math.Round(sigma * span + 1, MidpointRounding.ToEven) | 1;
        var scale = -0.5 / (sigma * sigma);
        var t = new double[n];
        var total = 0.0;
        for (var i = 0; i < n; i++)
        {
            var x = i - (n - 1) * 0.5;
            t[i] = Math.Exp(scale * x * x);
            total += t[i];
        }

        return t.Select(v => v / total).ToArray();
    }

    /// <summary>
    /// <c>cv2.GaussianBlur</c> of one 8-bit plane: round(6σ + 1) | 1 taps (OpenCV's count for 8-bit images), reflect-101,
    /// rows then columns in double, rounded half up to a byte. OpenCV sums in 8.8 fixed point instead, so a value near a
    /// half level can land one level away (tools/reference/make_hed.py --check counts them).
    /// </summary>
    public static byte[] BlurBytes(ReadOnlySpan<byte> plane, int height, int width, double sigma, CancellationToken cancellationToken = default)
    {
        if (plane.Length != (long)height * width) throw new ArgumentException($"expected {height} × {width} values, got {plane.Length}", nameof(plane));
        var taps = Gaussian(sigma, 6);
        var radius = taps.Length / 2;
        var columns = Enumerable.Range(-radius, width + 2 * radius).Select(i => Reflect101(i, width)).ToArray();
        var rows = Enumerable.Range(-radius, height + 2 * radius).Select(i => Reflect101(i, height)).ToArray();
        var across = new double[height * width];
        for (var y = 0; y < height; y++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var x = 0; x < width; x++)
            {
                var sum = 0.0;
                for (var k = 0; k < taps.Length; k++) sum += taps[k] * plane[y * width + columns[x + k]];
                across[y * width + x] = sum;
            }
        }

        var result = new byte[height * width];
        for (var y = 0; y < height; y++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var x = 0; x < width; x++)
            {
                var sum = 0.0;
                for (var k = 0; k < taps.Length; k++) sum += taps[k] * across[rows[y + k] * width + x];
                result[y * width + x] = (byte)Math.Clamp(Math.Floor(sum + 0.5), 0, 255);
            }
        }

        return result;
    }

    /// <summary>
    /// <c>cv2.GaussianBlur(image, (0, 0), sigma)</c> of an 8-bit RGB image exactly as OpenCV's fixed-point path computes it:
    /// round(6σ + 1) | 1 taps (one along a side of one pixel), exp(−x² / 2σ²) normalised in double and rounded to 8
    /// fractional bits with the error carried along (they sum to exactly 1); rows first, each sum kept whole in 8.8 fixed point (saturating at 16 bits), then columns in
    /// 16.16, rounded half up to a byte; reflect-101 borders.
    /// </summary>
    public static Rgb8Image Blur8Bit(Rgb8Image image, double sigma, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var size = (int)Math.Round(sigma * 6 + 1, MidpointRounding.ToEven) | 1;
        var xTaps = image.Width == 1 ? [256] : FixedTaps(size, sigma);
        var yTaps = image.Height == 1 ? [256] : FixedTaps(size, sigma);
        int height = image.Height, width = image.Width, rx = xTaps.Length / 2, ry = yTaps.Length / 2;
        var columns = Enumerable.Range(-rx, width + 2 * rx).Select(i => Reflect101(i, width)).ToArray();
        var rows = Enumerable.Range(-ry, height + 2 * ry).Select(i => Reflect101(i, height)).ToArray();
        var across = new int[height * width * 3];
        ParallelBands.Run(height, 16, (start, end) =>
        {
            for (var y = start; y < end; y++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                for (var x = 0; x < width; x++)
                for (var c = 0; c < 3; c++)
                {
                    var sum = 0;
                    for (var k = 0; k < xTaps.Length; k++) sum += xTaps[k] * image.Pixels[3 * (y * width + columns[x + k]) + c];
                    across[3 * (y * width + x) + c] = Math.Min(sum, ushort.MaxValue);
                }
            }
        });
        var pixels = new byte[height * width * 3];
        ParallelBands.Run(height, 16, (start, end) =>
        {
            for (var y = start; y < end; y++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                for (var i = 0; i < width * 3; i++)
                {
                    long sum = 0;
                    for (var k = 0; k < yTaps.Length; k++) sum += (long)yTaps[k] * across[rows[y + k] * width * 3 + i];
                    pixels[y * width * 3 + i] = (byte)Math.Min((Math.Min(sum, uint.MaxValue) + (1 << 15)) >> 16, 255);
                }
            }
        });
        return new Rgb8Image(height, width, pixels);
    }

    // OpenCV's bit-exact 8-bit kernel: exp(x² · (−0.125 / σ²)) at x = 1 − n, 3 − n, … (twice the offsets) for the taps left
    // of the centre, their sum doubled plus 1 (the centre's), each divided by it; then, left to right, times 256 plus the
    // error carried from the tap before, rounded half to even; the centre takes what is left of 256.
    private static int[] FixedTaps(int size, double sigma)
    {
        if (!(sigma > 0) || double.IsInfinity(sigma)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "the gaussian's sigma must be a positive number");
        var scale = -0.125 / (sigma * sigma);
        var half = size / 2;
        var values = new double[half];
        var sum = 0.0;
        for (int i = 0, x = 1 - size; i < half; i++, x += 2)
        {
            values[i] = Math.Exp((double)x * x * scale);
            sum += values[i];
        }

        sum = sum * 2 + 1;
        var taps = new int[size];
        var error = 0.0;
        var total = 0;
        for (var i = 0; i < half; i++)
        {
            var adjusted = values[i] / sum * 256 + error;
            var tap = (int)Math.Round(adjusted, MidpointRounding.ToEven);
            error = adjusted - tap;
            taps[i] = taps[size - 1 - i] = tap;
            total += tap;
        }

        taps[half] = 256 - 2 * total;
        return taps;
    }

    /// <summary>Blurs one plane of <paramref name="height"/> × <paramref name="width"/> values.</summary>
    public static float[] Blur(ReadOnlySpan<float> plane, int height, int width, double sigma, CancellationToken cancellationToken = default)
    {
        if (plane.Length != (long)height * width) throw new ArgumentException($"expected {height} × {width} values, got {plane.Length}", nameof(plane));
        var taps = Taps(sigma);
        var radius = taps.Length / 2;
        var columns = Enumerable.Range(-radius, width + 2 * radius).Select(i => Reflect101(i, width)).ToArray();
        var rows = Enumerable.Range(-radius, height + 2 * radius).Select(i => Reflect101(i, height)).ToArray();
        var across = new float[height * width];
        for (var y = 0; y < height; y++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var x = 0; x < width; x++)
            {
                var sum = 0.0;
                for (var k = 0; k < taps.Length; k++) sum += (double)taps[k] * plane[y * width + columns[x + k]];
                across[y * width + x] = (float)sum;
            }
        }

        var result = new float[height * width];
        for (var y = 0; y < height; y++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var x = 0; x < width; x++)
            {
                var sum = 0.0;
                for (var k = 0; k < taps.Length; k++) sum += (double)taps[k] * across[rows[y + k] * width + x];
                result[y * width + x] = (float)sum;
            }
        }

        return result;
    }

    // OpenCV's BORDER_REFLECT_101: −1 reads 1, n reads n − 2, folding again while outside.
    private static int Reflect101(int index, int length)
    {
        if (length == 1) return 0;
        var period = 2 * length - 2;
        index = Math.Abs(index) % period;
        return index >= length ? period - index : index;
    }
}
