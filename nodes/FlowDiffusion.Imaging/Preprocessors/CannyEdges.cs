namespace FlowDiffusion.Imaging.Preprocessors;

/// <summary>
/// Canny edge detection in OpenCV's steps (what the ControlNet canny annotator runs, <c>cv2.Canny(img, low, high)</c>)
/// on the image's 8-bit luminance: 3×3 Sobel derivatives (borders replicated), L1 gradient magnitude |dx| + |dy|,
/// non-maximum suppression along the gradient direction quantised to 0°, 45°, 90° or 135° (a pixel survives when it is
/// greater than its neighbour before and not less than the one after; greater than both on diagonals), then hysteresis: pixels above
/// <c>high</c> are edges, pixels above <c>low</c> are edges when 8-connected to one. Thresholds are on Sobel's
/// 0..1020·2 scale of 8-bit images, as OpenCV's are (the annotator's defaults: 100 and 200). A colour image
/// (<see cref="DetectRgb8"/>) takes each pixel's gradient from its channel with the largest magnitude, as OpenCV does.
/// </summary>
public static class CannyEdges
{
    // tan(22.5°) and tan(67.5°): the sector boundaries of the gradient direction.
    private const double Tan22 = 0.41421356237309503;
    private const double Tan67 = 2.414213562373095;

    /// <summary>The edge map, 1 on edges and 0 elsewhere, [height, width].</summary>
    /// <param name="rgb">Planar RGB [3, height, width] in 0..1.</param>
    /// <param name="height">The height.</param>
    /// <param name="width">The width.</param>
    /// <param name="low">The lower hysteresis threshold.</param>
    /// <param name="high">The upper hysteresis threshold.</param>
    public static float[] Detect(ReadOnlySpan<float> rgb, int height, int width, double low, double high)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (rgb.Length != 3L * height * width) throw new ArgumentException($"expected 3 × {height} × {width} values, got {rgb.Length}", nameof(rgb));
        return DetectGray(Luminance8(rgb, height, width), height, width, low, high);
    }

    /// <summary>The edge map of an 8-bit grey image [height, width] (what <c>cv2.Canny</c> takes).</summary>
    /// <param name="gray">Grey levels 0..255, row-major.</param>
    /// <param name="height">The height.</param>
    /// <param name="width">The width.</param>
    /// <param name="low">The lower hysteresis threshold.</param>
    /// <param name="high">The upper hysteresis threshold.</param>
    public static float[] DetectGray(int[] gray, int height, int width, double low, double high)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (gray.Length != (long)height * width) throw new ArgumentException($"expected {height} × {width} values, got {gray.Length}", nameof(gray));
        var dx = new int[height * width];
        var dy = new int[height * width];
        var magnitude = new int[height * width];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var i = y * width + x;
            (dx[i], dy[i]) = Sobel(gray, height, width, 1, 0, y, x);
            magnitude[i] = Math.Abs(dx[i]) + Math.Abs(dy[i]);
        }

        return Suppress(dx, dy, magnitude, height, width, low, high);
    }

    /// <summary>
    /// The edge map of an 8-bit colour image, as <c>cv2.Canny</c> takes a 3-channel one: each pixel's gradient is that of
    /// the channel with the largest |dx| + |dy| (the first of equals).
    /// </summary>
    /// <param name="image">The image.</param>
    /// <param name="low">The lower hysteresis threshold.</param>
    /// <param name="high">The upper hysteresis threshold.</param>
    public static float[] DetectRgb8(Annotators.Rgb8Image image, double low, double high)
    {
        int height = image.Height, width = image.Width;
        var values = image.Pixels.Select(b => (int)b).ToArray();
        var dx = new int[height * width];
        var dy = new int[height * width];
        var magnitude = new int[height * width];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var i = y * width + x;
            magnitude[i] = -1;
            for (var c = 0; c < 3; c++)
            {
                var (gx, gy) = Sobel(values, height, width, 3, c, y, x);
                var m = Math.Abs(gx) + Math.Abs(gy);
                if (m <= magnitude[i]) continue;
                (dx[i], dy[i], magnitude[i]) = (gx, gy, m);
            }
        }

        return Suppress(dx, dy, magnitude, height, width, low, high);
    }

    // 3×3 Sobel derivatives at (y, x) of channel c of interleaved values, borders replicated.
    private static (int Dx, int Dy) Sobel(int[] values, int height, int width, int channels, int c, int y, int x)
    {
        int up = Math.Max(y - 1, 0), down = Math.Min(y + 1, height - 1), left = Math.Max(x - 1, 0), right = Math.Min(x + 1, width - 1);
        int P(int yy, int xx) => values[(yy * width + xx) * channels + c];
        var gx = P(up, right) - P(up, left) + 2 * (P(y, right) - P(y, left)) + P(down, right) - P(down, left);
        var gy = P(down, left) - P(up, left) + 2 * (P(down, x) - P(up, x)) + P(down, right) - P(up, right);
        return (gx, gy);
    }

    // Non-maximum suppression along the quantised gradient direction, then hysteresis.
    private static float[] Suppress(int[] dx, int[] dy, int[] magnitude, int height, int width, double low, double high)
    {
        if (low > high) (low, high) = (high, low);
        // 0: not an edge; a candidate (above low, a local maximum); an edge (above high too).
        var state = new byte[height * width];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var i = y * width + x;
            var m = magnitude[i];
            if (m <= low) continue;
            double ax = Math.Abs(dx[i]), ay = Math.Abs(dy[i]);
            (int Y, int X) before, after;
            var diagonal = false;
            if (ay < ax * Tan22) (before, after) = ((y, x - 1), (y, x + 1));
            else if (ay > ax * Tan67) (before, after) = ((y - 1, x), (y + 1, x));
            else
            {
                diagonal = true;
                (before, after) = (dx[i] < 0) == (dy[i] < 0) ? ((y - 1, x - 1), (y + 1, x + 1)) : ((y - 1, x + 1), (y + 1, x - 1));
            }

            int At((int Y, int X) p) => p.Y < 0 || p.Y >= height || p.X < 0 || p.X >= width ? 0 : magnitude[p.Y * width + p.X];
            if (m > At(before) && (diagonal ? m > At(after) : m >= At(after)))
            {
                state[i] = m > high ? EdgeHysteresis.Edge : EdgeHysteresis.Candidate;
            }
        }

        return EdgeHysteresis.Connect(state, height, width);
    }

    /// <summary>
    /// 8-bit luminance: each channel rounded to 0..255, then round(0.299 R + 0.587 G + 0.114 B). OpenCV's fixed-point
    /// conversion gives the same but for a level's rounding now and then (at most 1 apart).
    /// </summary>
    public static int[] Luminance8(ReadOnlySpan<float> rgb, int height, int width)
    {
        var plane = height * width;
        var gray = new int[plane];
        for (var i = 0; i < plane; i++)
        {
            gray[i] = (int)Math.Round(0.299 * Byte(rgb[i]) + 0.587 * Byte(rgb[plane + i]) + 0.114 * Byte(rgb[2 * plane + i]), MidpointRounding.AwayFromZero);
        }

        return gray;
    }

    private static int Byte(float v) => (int)Math.Round(Math.Clamp(float.IsNaN(v) ? 0 : v, 0f, 1f) * 255.0, MidpointRounding.AwayFromZero);
}
