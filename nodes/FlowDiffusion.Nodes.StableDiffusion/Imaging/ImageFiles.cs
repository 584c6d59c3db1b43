using FlowDiffusion.Sdk.Values;
using SkiaSharp;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>Image files ↔ planar float images, through SkiaSharp.</summary>
public static class ImageFiles
{
    /// <summary>Decodes an image file to RGBA pixels; a clear error names the file when it is not an image.</summary>
    public static SKBitmap Decode(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image file not found: {path}", path);
        var bitmap = SKBitmap.Decode(path);
        if (bitmap is null) throw new InvalidDataException($"'{path}' is not an image SkiaSharp can read (PNG, JPEG, WebP, BMP, GIF)");
        return bitmap;
    }

    /// <summary>Loads an image file as a batch of one, resized to <paramref name="width"/>×<paramref name="height"/> when given.</summary>
    public static Image Load(string path, int width = 0, int height = 0)
    {
        using var bitmap = Decode(path);
        using var sized = Resize(bitmap, width, height);
        return ToImage(sized);
    }

    /// <summary>A bitmap resized (high quality) to the size, or a copy when the size is 0 or already right.</summary>
    public static SKBitmap Resize(SKBitmap bitmap, int width, int height)
    {
        width = width > 0 ? width : bitmap.Width;
        height = height > 0 ? height : bitmap.Height;
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var result = new SKBitmap(info);
        if (!bitmap.ScalePixels(result, new SKSamplingOptions(SKCubicResampler.Mitchell)))
            throw new InvalidDataException("the image could not be resized");
        return result;
    }

    /// <summary>An RGBA bitmap as planar [1, 3, H, W] in [0, 1].</summary>
    public static Image ToImage(SKBitmap bitmap)
    {
        int w = bitmap.Width, h = bitmap.Height, plane = w * h;
        var pixels = new float[3 * plane];
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            var c = bitmap.GetPixel(x, y);
            var i = y * w + x;
            pixels[i] = c.Red / 255f;
            pixels[plane + i] = c.Green / 255f;
            pixels[2 * plane + i] = c.Blue / 255f;
        }
        return new Image(1, h, w, pixels);
    }
}
