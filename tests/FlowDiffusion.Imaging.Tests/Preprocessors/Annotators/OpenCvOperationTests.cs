using System.Text.Json;
using FlowDiffusion.Imaging.Preprocessors.Annotators;

namespace FlowDiffusion.Imaging.Tests.Preprocessors.Annotators;

/// <summary>
/// The OpenCV operations the annotators lean on, against tools/reference/aux_preprocessors.py (its restatement equals
/// Debian's OpenCV 4.6 on these cases but one cubic pixel a level apart, printed by its --check).
/// </summary>
public sealed class OpenCvOperationTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "aux-preprocessors.json"))).RootElement;

    [Fact]
    public void Resizes_match_the_reference_byte_for_byte()
    {
        var image = Oracle.GetProperty("image");
        var source = new Rgb8Image(image.GetProperty("height").GetInt32(), image.GetProperty("width").GetInt32(), image.GetProperty("rgb_hwc").GetBytesFromBase64());
        var count = 0;
        foreach (var c in Oracle.GetProperty("resizes").EnumerateArray())
        {
            int height = c.GetProperty("height").GetInt32(), width = c.GetProperty("width").GetInt32();
            var method = c.GetProperty("method").GetString();
            var result = method switch
            {
                "area" => OpenCvResize.Area(source, height, width),
                "cubic" => OpenCvResize.Cubic(source, height, width),
                _ => OpenCvResize.Nearest(source, height, width),
            };
            var expected = c.GetProperty("output").GetBytesFromBase64();
            var wrong = expected.Where((e, i) => result.Pixels[i] != e).Count();
            Assert.True(wrong == 0, $"{method} to {width}×{height}: {wrong} of {expected.Length} bytes differ");
            count++;
        }

        Assert.Equal(8, count);
    }

    [Theory]
    // Two equal classes: every level between them splits equally well; OpenCV keeps the first (0).
    [InlineData(new byte[] { 0, 0, 0, 255, 255, 255 }, 0)]
    // Three classes 10, 100, 200 in 3:4:3: OpenCV's level is 100 (checked with cv2.threshold).
    [InlineData(new byte[] { 10, 10, 10, 100, 100, 100, 100, 200, 200, 200 }, 100)]
    public void Otsu_takes_the_first_of_equally_good_levels(byte[] levels, int expected) =>
        Assert.Equal(expected, BinaryLines.Otsu(levels));

    [Fact]
    public void Grey_is_opencvs_fifteen_bit_conversion()
    {
        // (9798 R + 19235 G + 3735 B + 2¹⁴) >> 15: (255, 0, 0) → 76, (0, 255, 0) → 150, (0, 0, 255) → 29, (1, 1, 1) → 1, (128, 64, 32) → 79.
        var image = new Rgb8Image(1, 5, [255, 0, 0, 0, 255, 0, 0, 0, 255, 1, 1, 1, 128, 64, 32]);
        Assert.Equal([76, 150, 29, 1, 79], BinaryLines.Grey(image));
    }

    [Fact]
    public void The_annotators_bytes_are_truncated_as_aux_makes_them()
    {
        // aux: np.asarray(image * 255., dtype=np.uint8). 0.5 → 127 (127.5 truncated), 0.999 → 254, 1 → 255, k / 255 → k;
        // out of range and NaN clamp to 0 and 255 (numpy's cast of those is undefined).
        float[] reds = [0.5f, 0.999f, 1f, 200 / 255f, -0.25f, 1.5f, float.NaN];
        var planar = new float[3 * reds.Length];
        reds.CopyTo(planar, 0);
        var image = Rgb8Image.FromPlanar(planar, 1, reds.Length);
        Assert.Equal([127, 254, 255, 200, 0, 255, 0], Enumerable.Range(0, reds.Length).Select(i => (int)image.Pixels[3 * i]));
        Assert.All(Enumerable.Range(0, reds.Length), i => Assert.Equal(0, image.Pixels[3 * i + 1]));
        Assert.Equal(200 / 255f, image.ToPlanar()[3]);
    }
}
