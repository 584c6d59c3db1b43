using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>Image files → planar float images and masks, through SkiaSharp's codecs.</summary>
public static class ImageFiles
{
    // b / 255 for every byte value, computed as a per-pixel division would.
    private static readonly float[] Levels = Enumerable.Range(0, 256).Select(b => b / 255f).ToArray();

    /// <summary>Loads an image file as a batch of one, resized to <paramref name="width"/>×<paramref name="height"/> when given.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an image that can be read within <paramref name="limits"/>.</exception>
    public static Image Load(string path, string name, InputLimits limits, int width = 0, int height = 0, CancellationToken cancellationToken = default)
    {
        using var rgba = RgbaPixels.Read(path, name, width, height, LimitsOf(limits), cancellationToken);
        int w = rgba.Width, h = rgba.Height, plane = w * h;
        var pixels = GC.AllocateUninitializedArray<float>(3 * plane);
        // Rows in bands on all cores: the image's fresh buffer is first touched here, and its page faults are the cost.
        ParallelBands.Run(h, RowsPerBand(w), (first, end) =>
        {
            var bytes = rgba.Bytes.AsSpan();
            for (var i = first * w; i < end * w; i++)
            {
                pixels[i] = Levels[bytes[4 * i]];
                pixels[plane + i] = Levels[bytes[4 * i + 1]];
                pixels[2 * plane + i] = Levels[bytes[4 * i + 2]];
            }
        });
        return new Image(1, h, w, pixels);
    }

    /// <summary>
    /// Loads an image file's luminance (0.299 R + 0.587 G + 0.114 B) / 255 per pixel, inverted when asked, resized when a
    /// size is given: [H, W] values and the size.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an image that can be read within <paramref name="limits"/>.</exception>
    public static (float[] Values, int Width, int Height) LoadLuminance(string path, string name, InputLimits limits, int width, int height, bool invert,
        CancellationToken cancellationToken = default)
    {
        using var rgba = RgbaPixels.Read(path, name, width, height, LimitsOf(limits), cancellationToken);
        int w = rgba.Width, h = rgba.Height;
        var values = GC.AllocateUninitializedArray<float>(w * h);
        ParallelBands.Run(h, RowsPerBand(w), (first, end) =>
        {
            var bytes = rgba.Bytes.AsSpan();
            for (var i = first * w; i < end * w; i++)
            {
                var luminance = (0.299f * bytes[4 * i] + 0.587f * bytes[4 * i + 1] + 0.114f * bytes[4 * i + 2]) / 255f;
                values[i] = invert ? 1f - luminance : luminance;
            }
        });
        return (values, w, h);
    }

    /// <summary>
    /// Loads one channel of an image file as a mask, as ComfyUI's LoadImageMask reads it: <c>red</c>, <c>green</c> or
    /// <c>blue</c> as value / 255, <c>alpha</c> as 1 − alpha / 255 (transparent is 1; a file without alpha gives 0), or
    /// <c>luminance</c> as <see cref="LoadLuminance"/>; inverted when asked, resized when a size is given.
    /// </summary>
    /// <exception cref="ArgumentException">The channel is none of those.</exception>
    public static (float[] Values, int Width, int Height) LoadChannel(string path, string name, InputLimits limits, int width, int height, string channel, bool invert,
        CancellationToken cancellationToken = default)
    {
        var offset = channel switch
        {
            "luminance" => -1,
            "red" => 0,
            "green" => 1,
            "blue" => 2,
            "alpha" => 3,
            _ => throw new ArgumentException($"channel: '{channel}' is not one of luminance, red, green, blue, alpha"),
        };
        if (offset < 0) return LoadLuminance(path, name, limits, width, height, invert, cancellationToken);
        using var rgba = RgbaPixels.Read(path, name, width, height, LimitsOf(limits), cancellationToken);
        int w = rgba.Width, h = rgba.Height;
        var values = GC.AllocateUninitializedArray<float>(w * h);
        var flip = (offset == 3) != invert;
        ParallelBands.Run(h, RowsPerBand(w), (first, end) =>
        {
            var bytes = rgba.Bytes.AsSpan();
            for (var i = first * w; i < end * w; i++)
            {
                var value = Levels[bytes[4 * i + offset]];
                values[i] = flip ? 1f - value : value;
            }
        });
        return (values, w, h);
    }

    /// <summary>The host's limits as the image library takes them.</summary>
    public static ImageLimits LimitsOf(InputLimits limits) => new()
    {
        MaxPixels = limits.MaxImagePixels,
        MaxDimension = limits.MaxImageDimension,
        MaxFileBytes = limits.MaxFileBytes,
        ReadTimeout = limits.ReadTimeout,
    };

    // About 64 K pixels a band.
    private static int RowsPerBand(int width) => (1 << 16) / Math.Max(1, width);
}
