using System.Text.Json;
using FlowDiffusion.Imaging.Compositing;
using FlowDiffusion.Imaging.Tests.Filters;

namespace FlowDiffusion.Imaging.Tests.Compositing;

/// <summary>
/// ComfyUI's Porter-Duff modes worked by hand on one pixel: source colour 0.8 with mask 0.5 (alpha 0.5, premultiplied
/// 0.4) and destination colour 0.4 with mask 0.75 (alpha 0.25, premultiplied 0.1). Each row is the premultiplied result
/// and alpha by the mode's formula, then colour = result / alpha clamped to 0 … 1 and mask = 1 − alpha; to 1e-6. And every
/// mode on a random batch against torch (tools/reference/make_porter_duff.py), transparent rows and columns included.
/// </summary>
public sealed class PorterDuffTests
{
    [Theory]
    [InlineData("ADD", 0.5f / 0.75f, 0.25f)]                // alpha min(0.75, 1), colour min(0.4 + 0.1, 1)
    [InlineData("CLEAR", 0f, 1f)]                           // alpha 0: colour 0
    [InlineData("DARKEN", 0.45f / 0.625f, 0.375f)]          // 0.75·0.4 + 0.5·0.1 + min(0.4, 0.1); alpha 0.5 + 0.25 − 0.125
    [InlineData("DST", 0.4f, 0.75f)]
    [InlineData("DST_ATOP", 0.35f / 0.5f, 0.5f)]            // 0.5·0.1 + 0.75·0.4; alpha 0.5
    [InlineData("DST_IN", 0.4f, 0.875f)]                    // 0.1·0.5 / 0.125
    [InlineData("DST_OUT", 0.4f, 0.875f)]                   // 0.5·0.1 / (0.5·0.25)
    [InlineData("DST_OVER", 0.4f / 0.625f, 0.375f)]         // 0.1 + 0.75·0.4; alpha 0.25 + 0.75·0.5
    [InlineData("LIGHTEN", 1f, 0.375f)]                     // (0.3 + 0.05 + 0.4) / 0.625 = 1.2, clamped
    [InlineData("MULTIPLY", 0.04f / 0.125f, 0.875f)]        // 0.4·0.1 / (0.5·0.25)
    [InlineData("OVERLAY", 0.08f / 0.625f, 0.375f)]         // 2·0.1 < 0.25: 2·0.4·0.1
    [InlineData("SCREEN", 0.46f / 0.625f, 0.375f)]          // 0.4 + 0.1 − 0.04
    [InlineData("SRC", 0.8f, 0.5f)]
    [InlineData("SRC_ATOP", 0.15f / 0.25f, 0.75f)]          // 0.25·0.4 + 0.5·0.1; alpha 0.25
    [InlineData("SRC_IN", 0.8f, 0.875f)]                    // 0.4·0.25 / 0.125
    [InlineData("SRC_OUT", 0.8f, 0.625f)]                   // 0.75·0.4 / (0.75·0.5)
    [InlineData("SRC_OVER", 0.45f / 0.625f, 0.375f)]        // 0.4 + 0.5·0.1; alpha 0.5 + 0.5·0.25
    [InlineData("XOR", 0.35f / 0.5f, 0.5f)]                 // 0.75·0.4 + 0.5·0.1; alpha 0.75·0.5 + 0.5·0.25
    public void Each_mode_gives_its_formula(string mode, float colour, float mask)
    {
        var (image, alpha) = Composite(0.8f, 0.5f, 0.4f, 0.75f, mode);

        Assert.Equal(colour, image, 1e-6f);
        Assert.Equal(mask, alpha, 1e-6f);
    }

    [Fact]
    public void Overlay_takes_its_second_formula_where_the_destination_is_bright()
    {
        // Destination 0.6 (premultiplied 0.15): 2·0.15 ≥ 0.25, so 0.5·0.25 − 2·(0.25 − 0.4)·(0.5 − 0.15) = 0.23.
        var (image, alpha) = Composite(0.8f, 0.5f, 0.6f, 0.75f, "OVERLAY");

        Assert.Equal(0.23f / 0.625f, image, 1e-6f);
        Assert.Equal(0.375f, alpha, 1e-6f);
    }

    [Fact]
    public void Where_the_result_is_transparent_the_colour_is_zero_and_every_channel_is_composited()
    {
        // Both masks 1 (transparent): SRC_OVER's alpha is 0. A second pixel, opaque, keeps the source's three channels (planar: red 0.2, green 0.7, blue 0.1).
        float[] source = [0.9f, 0.2f, 0.3f, 0.7f, 0.6f, 0.1f], sourceMask = [1f, 0f], destination = [0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f], destinationMask = [1f, 0f];
        var image = new float[6];
        var alpha = new float[2];

        PorterDuff.Composite(source, sourceMask, destination, destinationMask, "SRC_OVER", image, alpha);

        Assert.Equal([0f, 0.2f, 0f, 0.7f, 0f, 0.1f], image);
        Assert.Equal([1f, 0f], alpha);
    }

    [Theory]
    [InlineData("ADD")]
    [InlineData("CLEAR")]
    [InlineData("DARKEN")]
    [InlineData("DST")]
    [InlineData("DST_ATOP")]
    [InlineData("DST_IN")]
    [InlineData("DST_OUT")]
    [InlineData("DST_OVER")]
    [InlineData("LIGHTEN")]
    [InlineData("MULTIPLY")]
    [InlineData("OVERLAY")]
    [InlineData("SCREEN")]
    [InlineData("SRC")]
    [InlineData("SRC_ATOP")]
    [InlineData("SRC_IN")]
    [InlineData("SRC_OUT")]
    [InlineData("SRC_OVER")]
    [InlineData("XOR")]
    public void Each_mode_equals_torch_on_a_random_batch(string mode)
    {
        var oracle = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "porter-duff.json"))).RootElement;
        var plane = oracle.GetProperty("height").GetInt32() * oracle.GetProperty("width").GetInt32();
        float[] source = KorniaMorphologyTests.Floats(oracle.GetProperty("source")), sourceMask = KorniaMorphologyTests.Floats(oracle.GetProperty("source_mask")),
            destination = KorniaMorphologyTests.Floats(oracle.GetProperty("destination")), destinationMask = KorniaMorphologyTests.Floats(oracle.GetProperty("destination_mask"));
        var expected = oracle.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("mode").GetString() == mode);
        var (image, alpha) = (new float[source.Length], new float[sourceMask.Length]);

        for (var b = 0; b < oracle.GetProperty("batch").GetInt32(); b++)
        {
            PorterDuff.Composite(source.AsSpan(b * 3 * plane, 3 * plane), sourceMask.AsSpan(b * plane, plane), destination.AsSpan(b * 3 * plane, 3 * plane),
                destinationMask.AsSpan(b * plane, plane), mode, image.AsSpan(b * 3 * plane, 3 * plane), alpha.AsSpan(b * plane, plane));
        }

        float[] wantImage = KorniaMorphologyTests.Floats(expected.GetProperty("image")), wantMask = KorniaMorphologyTests.Floats(expected.GetProperty("mask"));
        Assert.True(wantImage.Zip(image).All(p => Math.Abs(p.First - p.Second) <= 1e-6f), $"largest colour difference {wantImage.Zip(image).Max(p => Math.Abs(p.First - p.Second))}");
        Assert.True(wantMask.Zip(alpha).All(p => Math.Abs(p.First - p.Second) <= 1e-6f), $"largest mask difference {wantMask.Zip(alpha).Max(p => Math.Abs(p.First - p.Second))}");
    }

    [Fact]
    public void An_unknown_mode_is_an_error_listing_them()
    {
        var error = Assert.Throws<ArgumentException>(() => PorterDuff.Composite([0f], [0f], [0f], [0f], "OVER", new float[1], new float[1]));
        Assert.Contains("mode must be one of ADD, CLEAR", error.Message, StringComparison.Ordinal);
    }

    private static (float Image, float Alpha) Composite(float source, float sourceMask, float destination, float destinationMask, string mode)
    {
        var image = new float[1];
        var alpha = new float[1];
        PorterDuff.Composite([source], [sourceMask], [destination], [destinationMask], mode, image, alpha);
        return (image[0], alpha[0]);
    }
}
