using FlowDiffusion.Imaging.Masks;

namespace FlowDiffusion.Imaging.Tests.Masks;

/// <summary>
/// MaskMorphology against ComfyUI's GrowMask written out literally: <c>|n|</c> steps, each replacing every pixel by the
/// maximum (growing) or minimum (shrinking) of the footprint's pixels inside the mask (the 3 × 3 square, or the cross
/// without its corners), which is what scipy's grey dilation and erosion with a reflecting border compute.
/// </summary>
public sealed class MaskMorphologyTests
{
    [Theory]
    [InlineData(13, 17, 1, true)]
    [InlineData(13, 17, 2, false)]
    [InlineData(13, 17, 5, true)]
    [InlineData(13, 17, 7, false)]
    [InlineData(13, 17, -1, true)]
    [InlineData(13, 17, -3, false)]
    [InlineData(13, 17, -4, true)]
    [InlineData(1, 9, 3, true)]
    [InlineData(9, 1, -2, false)]
    [InlineData(6, 5, 40, true)]
    [InlineData(6, 5, -40, false)]
    public void Steps_match_the_literal_definition_on_soft_random_masks(int height, int width, int steps, bool tapered)
    {
        var random = new Random(height * 1000 + width * 10 + steps);
        // Two items: a soft one and a sparse binary one, so both plateaus and single peaks are tried.
        var values = new float[2 * height * width];
        for (var i = 0; i < height * width; i++) values[i] = random.NextSingle();
        for (var i = height * width; i < values.Length; i++) values[i] = random.Next(7) == 0 ? 1f : 0f;

        var result = MaskMorphology.Expand(values, height, width, steps, tapered);

        var expected = new float[values.Length];
        for (var item = 0; item < 2; item++)
            Literal(values.AsSpan(item * height * width, height * width).ToArray(), height, width, steps, tapered).CopyTo(expected, item * height * width);
        Assert.Equal(expected, result);
    }

    [Fact]
    public void A_lone_pixel_grows_into_a_diamond_with_tapered_corners_and_a_square_without()
    {
        const int size = 11, centre = 5, steps = 3;
        var values = new float[size * size];
        values[centre * size + centre] = 0.75f;
        var diamond = MaskMorphology.Expand(values, size, size, steps, taperedCorners: true);
        var square = MaskMorphology.Expand(values, size, size, steps, taperedCorners: false);
        for (var y = 0; y < size; y++)
        for (var x = 0; x < size; x++)
        {
            int dy = Math.Abs(y - centre), dx = Math.Abs(x - centre);
            Assert.Equal(dx + dy <= steps ? 0.75f : 0f, diamond[y * size + x]);
            Assert.Equal(Math.Max(dx, dy) <= steps ? 0.75f : 0f, square[y * size + x]);
        }

        // Shrinking the grown shapes by as many steps gives the lone pixel back.
        Assert.Equal(values, MaskMorphology.Expand(diamond, size, size, -steps, taperedCorners: true));
        Assert.Equal(values, MaskMorphology.Expand(square, size, size, -steps, taperedCorners: false));
    }

    [Fact]
    public void Far_more_steps_than_the_mask_spans_give_its_extreme_everywhere_in_bounded_time()
    {
        const int height = 300, width = 200;
        var values = new float[height * width];
        values[17 * width + 3] = 0.9f;
        values[250 * width + 150] = 0.2f;
        foreach (var tapered in new[] { true, false })
        {
            Assert.All(MaskMorphology.Expand(values, height, width, 16384, tapered), v => Assert.Equal(0.9f, v));
            var ones = Enumerable.Repeat(1f, values.Length).ToArray();
            ones[42] = 0.1f;
            Assert.All(MaskMorphology.Expand(ones, height, width, -16384, tapered), v => Assert.Equal(0.1f, v));
        }
    }

    [Fact]
    public void Tapered_steps_beyond_the_work_bound_are_refused_with_the_most_allowed_and_zero_steps_copy()
    {
        const int side = 4096;
        var values = new float[side * side];
        var error = Assert.Throws<ArgumentException>(() => MaskMorphology.Expand(values, side, side, 257, taperedCorners: true));
        Assert.Contains("expand 257", error.Message);
        Assert.Contains("at most 256 steps", error.Message);
        // Square steps have no such bound: one pass each way.
        Assert.Equal(values.Length, MaskMorphology.Expand(values, side, side, 257, taperedCorners: false).Length);

        var small = new[] { 0.25f, 0.5f };
        var copy = MaskMorphology.Expand(small, 1, 2, 0, taperedCorners: true);
        Assert.Equal(small, copy);
        Assert.NotSame(small, copy);
        Assert.Throws<ArgumentException>(() => MaskMorphology.Expand(small, 3, 1, 1, taperedCorners: true));
    }

    // The definition: each step, every pixel takes the extreme of the footprint's in-mask pixels.
    private static float[] Literal(float[] values, int height, int width, int steps, bool tapered)
    {
        var current = values;
        for (var step = 0; step < Math.Abs(steps); step++)
        {
            var next = new float[current.Length];
            for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var extreme = current[y * width + x];
                for (var dy = -1; dy <= 1; dy++)
                for (var dx = -1; dx <= 1; dx++)
                {
                    if (tapered && dx != 0 && dy != 0) continue;
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
                    var v = current[yy * width + xx];
                    extreme = steps > 0 ? Math.Max(extreme, v) : Math.Min(extreme, v);
                }

                next[y * width + x] = extreme;
            }

            current = next;
        }

        return current;
    }
}
