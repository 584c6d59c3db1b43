using SkiaSharp;

namespace FlowDiffusion.Server.Tests;

/// <summary>Small encoded test images and the mean colour of a decoded one.</summary>
internal static class Images
{
    /// <summary>A solid <paramref name="colour"/> image of <paramref name="size"/>² pixels in <paramref name="format"/>.</summary>
    public static byte[] Solid(SKColor colour, SKEncodedImageFormat format = SKEncodedImageFormat.Png, int size = 8)
    {
        using var bitmap = new SKBitmap(size, size);
        bitmap.Erase(colour);
        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }

    /// <summary>A PNG of <paramref name="size"/>² random pixels: it barely compresses, so it is large for its size.</summary>
    public static byte[] Noise(int size, int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(size, size);
        for (var y = 0; y < size; y++)
        for (var x = 0; x < size; x++)
            bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 90);
        return data.ToArray();
    }

    /// <summary>Width, height and the mean (r, g, b) in [0, 1] of an encoded image.</summary>
    public static (int Width, int Height, double R, double G, double B) Measure(byte[] encoded)
    {
        using var bitmap = SKBitmap.Decode(encoded) ?? throw new InvalidDataException("not a decodable image");
        double r = 0, g = 0, b = 0;
        for (var y = 0; y < bitmap.Height; y++)
        for (var x = 0; x < bitmap.Width; x++)
        {
            var pixel = bitmap.GetPixel(x, y);
            r += pixel.Red;
            g += pixel.Green;
            b += pixel.Blue;
        }
        var n = 255.0 * bitmap.Width * bitmap.Height;
        return (bitmap.Width, bitmap.Height, r / n, g / n, b / n);
    }
}
