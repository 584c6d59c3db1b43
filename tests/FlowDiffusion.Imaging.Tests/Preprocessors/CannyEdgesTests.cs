using FlowDiffusion.Imaging.Preprocessors;

namespace FlowDiffusion.Imaging.Tests.Preprocessors;

/// <summary>Canny on images whose Sobel responses are worked out by hand (a step of c grey levels gives |dx| = 4c on both sides of it).</summary>
public sealed class CannyEdgesTests
{
    [Fact]
    public void A_vertical_step_gives_one_edge_column_on_its_dark_side()
    {
        // Columns 0..3 black, 4..7 white: |dx| = 4·255 = 1020 at columns 3 and 4; suppression keeps column 3 (greater than
        // its left neighbour, not less than its right one) and drops 4 (not greater than its left one).
        var edges = CannyEdges.Detect(Columns(8, 6, x => x < 4 ? 0 : 255), 6, 8, 100, 200);
        AssertEdges(edges, 6, 8, (y, x) => x == 3);
    }

    [Fact]
    public void A_horizontal_step_gives_one_edge_row()
    {
        var image = Rgb(6, 8, (y, x) => y < 2 ? 0 : 255);
        AssertEdges(CannyEdges.Detect(image, 6, 8, 100, 200), 6, 8, (y, x) => y == 1);
    }

    [Fact]
    public void A_step_whose_gradient_is_at_most_the_low_threshold_is_no_edge()
    {
        // 25 grey levels: |dx| = 100, not above low = 100.
        AssertEdges(CannyEdges.Detect(Columns(8, 6, x => x < 4 ? 0 : 25), 6, 8, 100, 200), 6, 8, (y, x) => false);
        // 26 levels: 104 is above low but no pixel is above high, so nothing is strong.
        AssertEdges(CannyEdges.Detect(Columns(8, 6, x => x < 4 ? 0 : 26), 6, 8, 100, 200), 6, 8, (y, x) => false);
        // Above high: an edge.
        AssertEdges(CannyEdges.Detect(Columns(8, 6, x => x < 4 ? 0 : 51), 6, 8, 100, 200), 6, 8, (y, x) => x == 3);
    }

    [Fact]
    public void Weak_edges_survive_only_when_connected_to_strong_ones()
    {
        // Steps of 60 (|dx| = 240, strong) at columns 3|4 and of 30 (|dx| = 120, weak) at 9|10, six columns apart.
        var image = Columns(16, 6, x => x < 4 ? 0 : x < 10 ? 60 : 90);
        AssertEdges(CannyEdges.Detect(image, 6, 16, 100, 200), 6, 16, (y, x) => x == 3);
        AssertEdges(CannyEdges.Detect(image, 6, 16, 100, 110), 6, 16, (y, x) => x is 3 or 9);
        // Thresholds given in the wrong order are swapped, as OpenCV does.
        AssertEdges(CannyEdges.Detect(image, 6, 16, 110, 100), 6, 16, (y, x) => x is 3 or 9);

        // A step of 60 over rows 0..5 and of 30 below: the weak lower column (|dx| = 120) hangs on the strong upper one
        // through the corner, where the gradients turn diagonal (|dx|, |dy| = 210, 90 at (5, 4)) and the 30-level
        // horizontal step on the right (|dy| = 120 along row 5) joins in too.
        var joined = Rgb(12, 8, (y, x) => x < 4 ? 0 : y < 6 ? 60 : 30);
        AssertEdges(CannyEdges.Detect(joined, 12, 8, 100, 200), 12, 8, (y, x) => (x == 3 && y is < 5 or > 6) || (y == 5 && x >= 4) || (y, x) == (6, 4));
        var alone = CannyEdges.Detect(Rgb(12, 8, (y, x) => x < 4 ? 0 : 30), 12, 8, 100, 200);
        Assert.All(alone, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Luminance_is_opencvs_rounded_weighted_sum_of_8_bit_channels()
    {
        // One pixel each: pure red, green, blue and a mix, as planar RGB.
        float[] rgb = [1, 0, 0, 0.5f, 0, 1, 0, 0.5f, 0, 0, 1, 0.5f];
        Assert.Equal([76, 150, 29, 128], CannyEdges.Luminance8(rgb, 1, 4));
    }

    private static float[] Columns(int width, int height, Func<int, int> level) => Rgb(height, width, (_, x) => level(x));

    private static float[] Rgb(int height, int width, Func<int, int, int> level)
    {
        var plane = height * width;
        var rgb = new float[3 * plane];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        for (var c = 0; c < 3; c++)
            rgb[c * plane + y * width + x] = level(y, x) / 255f;
        return rgb;
    }

    private static void AssertEdges(float[] edges, int height, int width, Func<int, int, bool> expected)
    {
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            Assert.True(edges[y * width + x] == (expected(y, x) ? 1f : 0f), $"pixel ({y}, {x}) is {edges[y * width + x]}");
    }
}
