using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests;

internal static class Images
{
    /// <summary>The mean (r, g, b) in 0..1 of an encoded image.</summary>
    public static (double R, double G, double B, int Width, int Height) Mean(byte[] encoded)
    {
        using var bitmap = SKBitmap.Decode(encoded) ?? throw new InvalidDataException("not an image");
        double r = 0, g = 0, b = 0;
        for (var y = 0; y < bitmap.Height; y++)
        for (var x = 0; x < bitmap.Width; x++)
        {
            var c = bitmap.GetPixel(x, y);
            r += c.Red;
            g += c.Green;
            b += c.Blue;
        }

        var n = 255.0 * bitmap.Width * bitmap.Height;
        return (r / n, g / n, b / n, bitmap.Width, bitmap.Height);
    }

    /// <summary>A solid PNG.</summary>
    public static byte[] SolidPng(int width, int height, SKColor color, SKColor? lowerHalf = null)
    {
        using var bitmap = new SKBitmap(width, height);
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            bitmap.SetPixel(x, y, y >= height / 2 && lowerHalf is { } lower ? lower : color);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
