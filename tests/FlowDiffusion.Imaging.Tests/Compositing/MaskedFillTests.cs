using System.Text.Json;
using FlowDiffusion.Imaging.Compositing;

namespace FlowDiffusion.Imaging.Tests.Compositing;

/// <summary>
/// A1111's masking.fill against tools/reference/make_masked_fill.py (a numpy restatement of Pillow's 8-bit blur, paste,
/// un-premultiply and alpha_composite, itself checked byte for byte against Pillow 9.4): every byte equal, tolerance 0,
/// on a 40 × 28 image with white blocks at its edges, with soft mask values, with everything masked, and on a 530 × 4 line
/// longer than the largest box (the other branch of Pillow's line blur).
/// </summary>
public sealed class MaskedFillTests
{
    private static readonly JsonElement Oracle =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "masked-fill.json"))).RootElement;

    public static TheoryData<string> Cases() => [.. Oracle.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Fact]
    public void Box_radii_are_Pillows_float32_extended_boxes()
    {
        foreach (var entry in Oracle.GetProperty("box_radii").EnumerateArray())
            Assert.Equal(entry.GetProperty("radius").GetSingle(), MaskedFill.BoxRadius(entry.GetProperty("sigma").GetInt32(), 3));
        // σ 256 over three passes: l = 255 and a fraction just under a half.
        Assert.Equal(255.4990234375f, MaskedFill.BoxRadius(256, 3));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fill_equals_the_reference_byte_for_byte(string name)
    {
        var (height, width, image, mask, expected) = Case(name);

        var filled = MaskedFill.Fill(image, mask, height, width);

        Assert.Equal(expected, filled);
        // What the mask leaves black is the image; white pixels take the surroundings' colours (or, with nothing left, black).
        for (var i = 0; i < height * width; i++)
        {
            if (mask[i] == 0) Assert.Equal(image.AsSpan(3 * i, 3).ToArray(), filled.AsSpan(3 * i, 3).ToArray());
        }

        var changed = Enumerable.Range(0, height * width).Count(i => mask[i] == 255 && !image.AsSpan(3 * i, 3).SequenceEqual(filled.AsSpan(3 * i, 3)));
        Assert.True(changed > mask.Count(m => m == 255) * 9 / 10, $"{name}: only {changed} white pixels changed");
    }

    [Fact]
    public void Float_images_are_rounded_to_bytes_first_and_come_back_as_bytes()
    {
        var (height, width, image, mask, expected) = Case("soft");
        var plane = height * width;
        var planar = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            planar[c * plane + i] = (image[3 * i + c] + 0.3f) / 255f;  // rounds back to the byte

        var filled = MaskedFill.Fill(planar, [.. mask.Select(m => m / 255f)], height, width);

        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            Assert.Equal(expected[3 * i + c] / 255f, filled[c * plane + i]);
    }

    private static (int Height, int Width, byte[] Image, byte[] Mask, byte[] Filled) Case(string name)
    {
        var entry = Oracle.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
        return (entry.GetProperty("height").GetInt32(), entry.GetProperty("width").GetInt32(), entry.GetProperty("image").GetBytesFromBase64(),
            entry.GetProperty("mask").GetBytesFromBase64(), entry.GetProperty("filled").GetBytesFromBase64());
    }
}
