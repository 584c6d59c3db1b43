using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// An image file decoded (and resized when asked) to unpremultiplied RGBA bytes in a pooled buffer: the codec writes
/// straight into memory that earlier loads already touched, so a load pays no fresh native bitmap per decode and step.
/// </summary>
internal sealed class RgbaPixels : IDisposable
{
    private RgbaPixels(byte[] bytes, int width, int height)
    {
        Bytes = bytes;
        Width = width;
        Height = height;
    }

    /// <summary>Row after row, 4 bytes a pixel, no padding; longer than 4·W·H (pooled).</summary>
    public byte[] Bytes { get; private set; }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Decodes <paramref name="path"/>, resized (Mitchell cubic) to the size when it is given and differs.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an image SkiaSharp can read.</exception>
    public static RgbaPixels Read(string path, int width = 0, int height = 0)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image file not found: {path}", path);
        using var codec = SKCodec.Create(path) ?? throw NotAnImage(path);
        var decoded = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = Rent(decoded);
        try
        {
            var result = Pinned(pixels.Bytes, address => codec.GetPixels(decoded, address));
            if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput)) throw NotAnImage(path);
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
                if (!scaled) throw new InvalidDataException($"'{path}' could not be resized to {width}×{height}");
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

    private static RgbaPixels Rent(SKImageInfo info) => new(ArrayPool<byte>.Shared.Rent(info.BytesSize), info.Width, info.Height);

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

    private static InvalidDataException NotAnImage(string path) =>
        new($"'{path}' is not an image SkiaSharp can read (PNG, JPEG, WebP, BMP, GIF)");
}
