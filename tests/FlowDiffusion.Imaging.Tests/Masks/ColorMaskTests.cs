using FlowDiffusion.Imaging.Masks;
using FlowDiffusion.Imaging.Tests.Filters;

namespace FlowDiffusion.Imaging.Tests.Masks;

/// <summary>
/// ComfyUI's ImageColorToMask rounding against torch (tools/reference/make_kornia_morphology.py): channel values either
/// side of (n + 0.5) / 255, exactly on them (half to even: 0.5 → 0, 1.5 → 2, 2.5 → 2), above 1 and below 0, for colours
/// taken from the image and one it does not contain.
/// </summary>
public sealed class ColorMaskTests
{
    [Fact]
    public void Masks_equal_comfyuis_rounding_for_every_colour()
    {
        var colour = KorniaMorphologyTests.Oracle().GetProperty("colour");
        var plane = colour.GetProperty("height").GetInt32() * colour.GetProperty("width").GetInt32();
        var rgb = KorniaMorphologyTests.Floats(colour.GetProperty("rgb"));
        var found = 0;
        foreach (var oracle in colour.GetProperty("cases").EnumerateArray())
        {
            var expected = KorniaMorphologyTests.Floats(oracle.GetProperty("mask"));
            var mask = ColorMask.Find(rgb, plane, oracle.GetProperty("color").GetInt32());
            Assert.True(expected.SequenceEqual(mask), $"color {oracle.GetProperty("color")}: {Enumerable.Range(0, plane).Count(i => mask[i] != expected[i])} pixels differ");
            found += (int)mask.Sum();
        }

        Assert.True(found >= 8, $"only {found} matching pixels over all colours");
    }

    [Fact]
    public void Half_rounds_to_even_and_values_outside_zero_to_one_are_clamped()
    {
        // One pixel per item: (0.5, 1.5, 2.5) / 255 → (0, 2, 2); (−0.3, 1.7, 127.5 / 255) → (0, 255, 128).
        float[] rgb = [0.5f / 255, 1.5f / 255, 2.5f / 255, -0.3f, 1.7f, 127.5f / 255];
        Assert.Equal([1f, 0f], ColorMask.Find(rgb, 1, 0x000202));
        Assert.Equal([0f, 1f], ColorMask.Find(rgb, 1, 0x00FF80));
        Assert.Contains("color must be 0 … 16777215", Assert.Throws<ArgumentException>(() => ColorMask.Find(rgb, 1, 0x1000000)).Message, StringComparison.Ordinal);
    }
}
