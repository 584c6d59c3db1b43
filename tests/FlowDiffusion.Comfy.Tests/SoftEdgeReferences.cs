using System.Text.Json;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>The soft-edge reference files' test image and map comparison (make_hed.py's and make_pidinet.py's JSON), for the mapping tests.</summary>
internal static class SoftEdgeReferences
{
    /// <summary>The reference file's test image as a PNG.</summary>
    public static byte[] ImagePng(JsonElement oracle)
    {
        var image = oracle.GetProperty("image");
        int height = image.GetProperty("height").GetInt32(), width = image.GetProperty("width").GetInt32();
        var rgb = image.GetProperty("rgb_hwc").GetBytesFromBase64();
        using var bitmap = new SKBitmap(width, height);
        for (var i = 0; i < width * height; i++) bitmap.SetPixel(i % width, i / width, new SKColor(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    /// <summary>
    /// Asserts <paramref name="png"/> is case <paramref name="c"/>'s map at its size, within one level (127 for safe maps,
    /// any for scribbles) at no more than 1 pixel in <paramref name="outOf"/>.
    /// </summary>
    public static void AssertMap(JsonElement c, byte[] png, string label, int outOf = 1000)
    {
        using (var bitmap = SKBitmap.Decode(png)!)
            Assert.True((c.GetProperty("width").GetInt32(), c.GetProperty("height").GetInt32()) == (bitmap.Width, bitmap.Height), $"{label}: {bitmap.Width}×{bitmap.Height}");
        var expected = c.GetProperty("output").GetBytesFromBase64();
        var got = ClassMappingTests.Pixels(png);
        int wrong = 0, worst = 0;
        for (var p = 0; p < expected.Length; p++)
        {
            var difference = Enumerable.Range(0, 3).Max(ch => Math.Abs(got[3 * p + ch] - expected[p]));
            if (difference > 0) wrong++;
            worst = Math.Max(worst, difference);
        }

        // One level, or one safe step (TEED's safe_steps n: 255 / n rounded up).
        var tolerance = c.TryGetProperty("scribble", out _) ? 255
            : c.TryGetProperty("safe_steps", out var steps) ? (steps.GetInt32() == 0 ? 1 : (255 + steps.GetInt32() - 1) / steps.GetInt32())
            : c.TryGetProperty("safe", out var safe) && safe.GetBoolean() ? 127 : 1;
        Assert.True(worst <= tolerance && wrong <= expected.Length / outOf, $"{label}: {wrong} of {expected.Length} pixels differ, by up to {worst} levels");
    }
}
