namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The ControlNet annotators' M-LSD straight lines (comfyui_controlnet_aux's MLSDdetector, sd-webui-controlnet's mlsd):
/// the image resized and padded (<see cref="AnnotatorInput"/>); <c>pred_lines</c> with its input shape the padded size
/// (so its INTER_AREA resize and the ratios back are identities); the network's centre logits and displacements at half
/// that size (<see cref="Decode"/>); each segment ×2, its ends truncated to integers and drawn white, width 1, on black
/// with <see cref="OpenCvLine"/>; the padding cropped off. No segment, as the annotator's swallowed error, leaves it black.
/// </summary>
public static class MlsdLines
{
    /// <summary>The number of centres <c>deccode_output_score_and_ptss</c> keeps (its top-k).</summary>
    public const int TopK = 200;

    /// <summary>The line map (white lines on black, in all three channels).</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side).</param>
    /// <param name="scoreThreshold">thr_v: a centre's sigmoid score must be above it.</param>
    /// <param name="distanceThreshold">thr_d: a segment's length at half size must be above it.</param>
    /// <param name="network">Runs the network on planar [3, height, width] values (0..255); returns 5 planes of height/2 × width/2.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, double scoreThreshold, double distanceThreshold, Func<float[], int, int, float[]> network)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        var (padded, height, width) = AnnotatorInput.ResizeWithPad(image, resolution);
        var planes = padded.ChannelPlanes();
        var size = padded.Height * padded.Width;
        var pixels = new float[3 * size];
        for (var c = 0; c < 3; c++) planes[c].CopyTo(pixels, c * size);
        var maps = network(pixels, padded.Height, padded.Width);
        var segments = Decode(maps, padded.Height / 2, padded.Width / 2, scoreThreshold, distanceThreshold);
        var plane = Draw(segments, padded.Height, padded.Width);
        return Rgb8Image.Grey(padded.Height, padded.Width, plane).Crop(height, width);
    }

    /// <summary>
    /// <c>deccode_output_score_and_ptss</c> (k 200, 3×3) and <c>pred_lines</c>' filters: the sigmoid of the centre logits
    /// (float32), kept where it equals its 3×3 maximum, the 200 highest (ties by position, row-major); each with score
    /// above <paramref name="scoreThreshold"/> and float32 length of (start − end) above <paramref name="distanceThreshold"/>
    /// gives (x + dx₁, y + dy₁, x + dx₂, y + dy₂)·2 in double, in the order of the scores. <paramref name="maps"/> holds
    /// the centre logits, then start x, start y, end x, end y, each <paramref name="height"/> × <paramref name="width"/>.
    /// </summary>
    public static List<(double X1, double Y1, double X2, double Y2)> Decode(float[] maps, int height, int width, double scoreThreshold, double distanceThreshold)
    {
        ArgumentNullException.ThrowIfNull(maps);
        var plane = height * width;
        if (maps.Length != 5 * plane) throw new ArgumentException($"M-LSD maps: {maps.Length} values, 5 × {height} × {width} expected", nameof(maps));
        var heat = new float[plane];
        for (var i = 0; i < plane; i++) heat[i] = (float)(1 / (1 + Math.Exp(-(double)maps[i])));
        var kept = new List<int>();
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var v = heat[y * width + x];
                var peak = true;
                for (var ny = Math.Max(0, y - 1); peak && ny <= Math.Min(height - 1, y + 1); ny++)
                    for (var nx = Math.Max(0, x - 1); nx <= Math.Min(width - 1, x + 1); nx++)
                        if (heat[ny * width + nx] > v) { peak = false; break; }
                if (peak) kept.Add(y * width + x);
            }
        }

        kept.Sort((a, b) => heat[b] != heat[a] ? heat[b].CompareTo(heat[a]) : a.CompareTo(b));
        var segments = new List<(double, double, double, double)>();
        foreach (var i in kept.Take(TopK))
        {
            var (y, x) = (i / width, i % width);
            var (sx, sy, ex, ey) = (maps[plane + i], maps[2 * plane + i], maps[3 * plane + i], maps[4 * plane + i]);
            var (ddx, ddy) = (sx - ex, sy - ey);
            var distance = MathF.Sqrt(ddx * ddx + ddy * ddy);
            if (heat[i] > scoreThreshold && distance > distanceThreshold)
                segments.Add((2 * (x + (double)sx), 2 * (y + (double)sy), 2 * (x + (double)ex), 2 * (y + (double)ey)));
        }

        return segments;
    }

    /// <summary>
    /// The segments drawn as the annotator does: each end truncated toward zero (Python's <c>int</c>) and <c>cv2.line</c>
    /// white of width 1; a coordinate that is not a number or outside 32-bit integers stops the drawing there (cv2 raises
    /// and the annotator's <c>except</c> keeps what was drawn).
    /// </summary>
    public static byte[] Draw(IEnumerable<(double X1, double Y1, double X2, double Y2)> segments, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var plane = new byte[height * width];
        foreach (var (x1, y1, x2, y2) in segments)
        {
            if (!Fits(x1) || !Fits(y1) || !Fits(x2) || !Fits(y2)) break;
            OpenCvLine.Draw(plane, height, width, (long)x1, (long)y1, (long)x2, (long)y2, 255);
        }

        return plane;
    }

    private static bool Fits(double v) => double.IsFinite(v) && Math.Truncate(v) >= int.MinValue && Math.Truncate(v) <= int.MaxValue;
}
