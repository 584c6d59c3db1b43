using FlowDiffusion.Imaging.Preprocessors.Annotators;

namespace FlowDiffusion.Imaging.Tests.Preprocessors.Annotators;

/// <summary>
/// M-LSD's decoding (<c>deccode_output_score_and_ptss</c> and <c>pred_lines</c>' filters) on network outputs made by
/// hand, so each segment is known exactly; and its drawing against pixels OpenCV 4.6's cv2.line set (printed by
/// cv2.line on the same points, clipped lines included).
/// </summary>
public sealed class MlsdLinesTests
{
    private const int Height = 8, Width = 10;

    // Centre logits −10 but three: a peak at (x 3, y 2), its lower neighbour (4, 2) suppressed by the 3×3 maximum, and a
    // weaker peak at (7, 5). Displacements: start (−1.5, 0.25), end (2, −0.5) at (3, 2); a unit-length (−0.5, 0)…(0.5, 0)
    // at (7, 5); (1, 1)…(−1, −1) everywhere else.
    private static float[] Maps()
    {
        var plane = Height * Width;
        var maps = new float[5 * plane];
        Array.Fill(maps, -10f, 0, plane);
        for (var i = 0; i < plane; i++) (maps[plane + i], maps[2 * plane + i], maps[3 * plane + i], maps[4 * plane + i]) = (1, 1, -1, -1);
        void Set(int x, int y, float logit, float sx, float sy, float ex, float ey)
        {
            var i = y * Width + x;
            (maps[i], maps[plane + i], maps[2 * plane + i], maps[3 * plane + i], maps[4 * plane + i]) = (logit, sx, sy, ex, ey);
        }

        Set(3, 2, 2f, -1.5f, 0.25f, 2f, -0.5f);
        Set(4, 2, 1.5f, 1f, 1f, -1f, -1f);
        Set(7, 5, 1f, -0.5f, 0f, 0.5f, 0f);
        return maps;
    }

    [Fact]
    public void Decode_keeps_the_peaks_above_both_thresholds_in_score_order_at_twice_the_map_scale()
    {
        var segments = MlsdLines.Decode(Maps(), Height, Width, 0.1, 0.5);
        // (x + dx)·2, (y + dy)·2: the strongest first; (4, 2) is not a 3×3 maximum; the −10 plateau scores 4.5e-5.
        Assert.Equal([(3.0, 4.5, 10.0, 3.0), (13.0, 10.0, 15.0, 10.0)], segments);
    }

    [Fact]
    public void The_distance_threshold_drops_segments_not_longer_than_it_at_half_size()
    {
        // (7, 5)'s segment is 1 long before the ×2: dropped at 1 (not above), kept just under.
        Assert.Equal([(3.0, 4.5, 10.0, 3.0)], MlsdLines.Decode(Maps(), Height, Width, 0.1, 1.0));
        Assert.Equal(2, MlsdLines.Decode(Maps(), Height, Width, 0.1, 0.999).Count);
    }

    [Fact]
    public void The_score_threshold_compares_the_sigmoid_of_the_centre_logit()
    {
        // σ(1) = 0.7311 and σ(2) = 0.8808.
        Assert.Equal(2, MlsdLines.Decode(Maps(), Height, Width, 0.731, 0.5).Count);
        Assert.Equal([(3.0, 4.5, 10.0, 3.0)], MlsdLines.Decode(Maps(), Height, Width, 0.732, 0.5));
        Assert.Empty(MlsdLines.Decode(Maps(), Height, Width, 0.881, 0.5));
    }

    [Fact]
    public void Only_the_200_strongest_peaks_are_read()
    {
        // 400 isolated peaks on a 40 × 40 map, logits rising with their position; each gives a segment.
        const int size = 40;
        var plane = size * size;
        var maps = new float[5 * plane];
        Array.Fill(maps, -20f, 0, plane);
        Array.Fill(maps, 2f, plane, plane);
        for (var y = 0; y < size; y += 2)
            for (var x = 0; x < size; x += 2)
                maps[y * size + x] = (y * size + x) / 400f;
        var segments = MlsdLines.Decode(maps, size, size, 0.1, 0.5);
        Assert.Equal(MlsdLines.TopK, segments.Count);
        // The strongest is the last peak (38, 38); the weakest kept is (0, 20), the first of the upper half in raster order.
        Assert.Equal((2 * (38 + 2.0), 2 * (38 + 0.0), 2 * 38.0, 2 * 38.0), segments[0]);
        Assert.Equal((2 * (0 + 2.0), 2 * (20 + 0.0), 0.0, 2 * 20.0), segments[^1]);
    }

    [Theory]
    [InlineData(4, 8, 0, 0, 5, 2, "0,0 1,0 2,1 3,1 4,2 5,2")]
    [InlineData(6, 7, 6, -3, 1, 9, "2,5 3,3 3,4 4,1 4,2 5,0")]
    [InlineData(5, 9, -4, 7, 12, -2, "1,4 2,3 3,3 4,2 5,2 6,1 7,1 8,0")]
    public void Lines_set_the_pixels_cv2_line_sets(int height, int width, int x1, int y1, int x2, int y2, string pixels)
    {
        var plane = new byte[height * width];
        OpenCvLine.Draw(plane, height, width, x1, y1, x2, y2, 255);
        var set = Enumerable.Range(0, plane.Length).Where(i => plane[i] == 255).Select(i => (X: i % width, Y: i / width)).Order().Select(p => $"{p.X},{p.Y}");
        Assert.Equal(pixels, string.Join(' ', set));
    }

    [Fact]
    public void Ends_are_truncated_toward_zero_as_int_does_and_a_coordinate_past_32_bits_stops_the_drawing()
    {
        var plane = MlsdLines.Draw([(-0.9, 1.99, 3.99, 1.2), (0, 3, 1e12, 3), (0, 0, 4, 0)], 4, 6);
        // Row 1 from x 0 to 3 (−0.9 → 0, 1.99 → 1, 3.99 → 3); the second segment raises in cv2, so the third is never drawn.
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (byte)(i / 6 == 1 && i % 6 <= 3 ? 255 : 0)), plane);
    }
}
