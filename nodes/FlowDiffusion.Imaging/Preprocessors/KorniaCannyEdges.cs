namespace FlowDiffusion.Imaging.Preprocessors;

/// <summary>
/// Canny edge detection as kornia's <c>canny</c> defines it (what ComfyUI's Canny node runs), in float32 on the image's
/// 0..1 values: grey = 0.299 R + 0.587 G + 0.114 B; a 5×5 gaussian blur with σ = 1 (taps −2 … 2, reflect padding);
/// 3×3 Sobel derivatives, unnormalised, borders replicated; magnitude √(gx² + gy² + 10⁻⁶); the direction rounded to a
/// multiple of 45° (half to even), a pixel kept where its magnitude exceeds both neighbours along it (0 outside the image);
/// then pixels above <c>high</c> are edges, and pixels above <c>low</c> 8-connected to an edge through such pixels
/// become edges too (kornia repeats one-pixel growth until nothing changes; a flood fill reaches the same set).
/// Thresholds are on the magnitude's own scale (ComfyUI: 0.01 … 0.99).
/// </summary>
public static class KorniaCannyEdges
{
    // Neighbour offsets (dy, dx) of the direction indices 0 … 7: angle / 45 mod 8, from 0° (the next column) turning
    // towards +y (the next row), as kornia's non-maximum suppression kernels.
    private static readonly (int Dy, int Dx)[] Directions = [(0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1)];

    /// <summary>The edge map, 1 on edges and 0 elsewhere, [height, width].</summary>
    /// <param name="rgb">Planar RGB [3, height, width] in 0..1.</param>
    /// <param name="height">The height (at least 3: the blur's reflect padding needs two rows inside).</param>
    /// <param name="width">The width (at least 3).</param>
    /// <param name="low">The lower hysteresis threshold.</param>
    /// <param name="high">The upper hysteresis threshold.</param>
    public static float[] Detect(ReadOnlySpan<float> rgb, int height, int width, float low, float high)
    {
        if (height < 3 || width < 3) throw new ArgumentException($"Canny (kornia) needs an image of at least 3 × 3 pixels, got {width} × {height}");
        if (rgb.Length != 3L * height * width) throw new ArgumentException($"expected 3 × {height} × {width} values, got {rgb.Length}", nameof(rgb));
        var plane = height * width;
        var gray = new float[plane];
        for (var i = 0; i < plane; i++) gray[i] = 0.299f * rgb[i] + 0.587f * rgb[plane + i] + 0.114f * rgb[2 * plane + i];
        var magnitude = Magnitude(Blur(gray, height, width), height, width, out var direction);
        return Hysteresis(Suppressed(magnitude, direction, height, width), height, width, low, high);
    }

    // The 5×5 gaussian (σ = 1, the outer product of the normalised 1-D taps) over reflect padding, summed in float32.
    private static float[] Blur(float[] gray, int height, int width)
    {
        var taps = new float[5];
        for (var k = 0; k < 5; k++) taps[k] = MathF.Exp(-0.5f * (k - 2) * (k - 2));
        var sum = taps.Sum();
        for (var k = 0; k < 5; k++) taps[k] /= sum;
        var blurred = new float[gray.Length];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var total = 0f;
            for (var i = 0; i < 5; i++)
            {
                var row = Reflect(y + i - 2, height) * width;
                for (var j = 0; j < 5; j++) total += taps[i] * taps[j] * gray[row + Reflect(x + j - 2, width)];
            }

            blurred[y * width + x] = total;
        }

        return blurred;
    }

    // Sobel gx, gy with replicated borders; the magnitude and the direction index of each pixel.
    private static float[] Magnitude(float[] blurred, int height, int width, out int[] direction)
    {
        var magnitude = new float[blurred.Length];
        direction = new int[blurred.Length];
        for (var y = 0; y < height; y++)
        {
            int up = Math.Max(y - 1, 0), down = Math.Min(y + 1, height - 1);
            for (var x = 0; x < width; x++)
            {
                int left = Math.Max(x - 1, 0), right = Math.Min(x + 1, width - 1);
                float P(int yy, int xx) => blurred[yy * width + xx];
                var gx = P(up, right) - P(up, left) + 2 * P(y, right) - 2 * P(y, left) + P(down, right) - P(down, left);
                var gy = P(down, left) - P(up, left) + 2 * P(down, x) - 2 * P(up, x) + P(down, right) - P(up, right);
                var i = y * width + x;
                magnitude[i] = MathF.Sqrt(gx * gx + gy * gy + 1e-6f);
                var angle = MathF.Round(180f * MathF.Atan2(gy, gx) / MathF.PI / 45f, MidpointRounding.ToEven);
                direction[i] = (((int)angle % 8) + 8) % 8;
            }
        }

        return magnitude;
    }

    // Non-maximum suppression: the magnitude where it exceeds both neighbours along its direction, else 0.
    private static float[] Suppressed(float[] magnitude, int[] direction, int height, int width)
    {
        var kept = new float[magnitude.Length];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var i = y * width + x;
            var (dy, dx) = Directions[direction[i]];
            float At(int yy, int xx) => yy < 0 || yy >= height || xx < 0 || xx >= width ? 0f : magnitude[yy * width + xx];
            if (magnitude[i] > At(y + dy, x + dx) && magnitude[i] > At(y - dy, x - dx)) kept[i] = magnitude[i];
        }

        return kept;
    }

    // kornia: 0.5 above low, 0.5 more above high; 1 is an edge, 0.5 a candidate.
    private static float[] Hysteresis(float[] magnitude, int height, int width, float low, float high)
    {
        var state = new byte[magnitude.Length];
        for (var i = 0; i < state.Length; i++)
        {
            var level = (magnitude[i] > low ? 0.5f : 0f) + (magnitude[i] > high ? 0.5f : 0f);
            state[i] = level == 1f ? EdgeHysteresis.Edge : level == 0.5f ? EdgeHysteresis.Candidate : (byte)0;
        }

        return EdgeHysteresis.Connect(state, height, width);
    }

    // torch's reflect padding: −1 → 1, n → n − 2.
    private static int Reflect(int index, int length) => index < 0 ? -index : index >= length ? 2 * length - 2 - index : index;
}
