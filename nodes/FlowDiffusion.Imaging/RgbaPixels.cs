using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace FlowDiffusion.Imaging;

/// <summary>
/// An image file decoded (and resized when asked) to unpremultiplied RGBA bytes in a pooled buffer: the codec writes
/// straight into memory that earlier loads already touched, so a load pays no fresh native bitmap per decode and step.
/// </summary>
public sealed class RgbaPixels : IDisposable
{
    private RgbaPixels(byte[] bytes, int width, int height)
    {
        Bytes = bytes;
        Width = width;
        Height = height;
    }

    /// <summary>Row after row, 4 bytes a pixel, no padding; longer than 4·W·H (pooled).</summary>
    public byte[] Bytes { get; private set; }

    /// <summary>The width in pixels.</summary>
    public int Width { get; }

    /// <summary>The height in pixels.</summary>
    public int Height { get; }

    /// <summary>
    /// Reads and decodes the image file <paramref name="path"/> (see <see cref="ImageFile.Read"/> for the checks made
    /// before decoding), resized (Mitchell cubic) to the size when it is given and differs.
    /// </summary>
    /// <param name="path">The file, already resolved and allowed.</param>
    /// <param name="name">How messages name the file.</param>
    /// <param name="width">Resize to this width (0 keeps the file's).</param>
    /// <param name="height">Resize to this height (0 keeps the file's).</param>
    /// <param name="limits">Image limits; <see cref="ImageLimits.Default"/> when null.</param>
    /// <param name="cancellationToken">Stops a slow read.</param>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an image that can be read within the limits.</exception>
    public static RgbaPixels Read(string path, string name, int width = 0, int height = 0, ImageLimits? limits = null, CancellationToken cancellationToken = default)
    {
        limits ??= ImageLimits.Default;
        var (bytes, _) = ImageFile.Read(path, name, limits, cancellationToken);
        return Decode(bytes, name, width, height, limits);
    }

    /// <summary>Decodes image file bytes whose header <see cref="ImageFile.Check"/> accepts, resized when a size is given.</summary>
    /// <exception cref="InvalidDataException">Not an image that can be decoded within the limits.</exception>
    public static RgbaPixels Decode(byte[] file, string name, int width = 0, int height = 0, ImageLimits? limits = null)
    {
        limits ??= ImageLimits.Default;
        ImageFile.Check(file, name, limits);
        if (width < 0 || height < 0 || (long)width * height > limits.MaxPixels)
            throw new InvalidDataException($"'{name}' cannot be resized to {width}×{height}: images are limited to {limits.MaxPixels:N0} pixels (FlowDiffusion:MaxImagePixels)");
        using var data = SKData.CreateCopy(file);
        using var codec = SKCodec.Create(data) ?? throw NotAnImage(name);
        // The decoder's own reading of the size must agree with the limits too (it, not our header reader, sizes buffers).
        if (ImageHeader.Check(new ImageHeaderInfo(ImageFormat.Png, codec.Info.Width, codec.Info.Height), limits) is { } beyond)
            throw new InvalidDataException($"'{name}' {beyond}");
        var decoded = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = Rent(decoded);
        try
        {
            var result = Pinned(pixels.Bytes, address => codec.GetPixels(decoded, address));
            if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput)) throw NotAnImage(name);
            width = width > 0 ? width : decoded.Width;
            height = height > 0 ? height : decoded.Height;
            if (width == decoded.Width && height == decoded.Height) return pixels;
            using var source = pixels;
            var target = decoded.WithSize(width, height);
            var resized = Rent(target);
            try
            {
                var scaled = Pinned(source.Bytes, from => Pinned(resized.Bytes, to =>
                {
                    using var input = new SKPixmap(decoded, from);
                    using var output = new SKPixmap(target, to);
                    return input.ScalePixels(output, new SKSamplingOptions(SKCubicResampler.Mitchell));
                }));
                if (!scaled) throw new InvalidDataException($"'{name}' could not be resized to {width}×{height}");
                return resized;
            }
            catch
            {
                resized.Dispose();
                throw;
            }
        }
        catch
        {
            pixels.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Bytes.Length > 0) ArrayPool<byte>.Shared.Return(Bytes);
        Bytes = [];
    }

    // Sized in 64 bits: the limits keep it far below 2 GiB, and a wrapped int would size the buffer wrongly.
    private static RgbaPixels Rent(SKImageInfo info) =>
        new(ArrayPool<byte>.Shared.Rent(checked((int)(4L * info.Width * info.Height))), info.Width, info.Height);

    private static T Pinned<T>(byte[] bytes, Func<IntPtr, T> use)
    {
        var handle = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        try
        {
            return use(handle.AddrOfPinnedObject());
        }
        finally
        {
            handle.Free();
        }
    }

    private static InvalidDataException NotAnImage(string name) =>
        new($"'{name}' is not an image that can be decoded (PNG, JPEG, WebP, BMP, GIF)");
}
