using System.Buffers.Binary;
using FlowDiffusion.Sdk.Values;
using SkiaSharp;

namespace FlowDiffusion.Imaging;

/// <summary>
/// Writes a batch as an animated WebP (the extended format: VP8X, ANIM, one ANMF per image): each image is encoded by
/// libwebp through SkiaSharp, lossless or lossy at a quality, as a frame covering the whole canvas, shown for the same
/// duration, looping forever over a transparent black background.
/// </summary>
public static class WebpAnimationEncoder
{
    /// <summary>The largest side a WebP canvas or frame can have.</summary>
    public const int MaxSide = 16383;

    /// <summary>The longest duration a frame can carry, in milliseconds (24 bits).</summary>
    public const int MaxDurationMilliseconds = (1 << 24) - 1;

    /// <summary>Writes every image of <paramref name="images"/> to <paramref name="output"/> as one animated WebP.</summary>
    /// <param name="output">Where the file goes.</param>
    /// <param name="images">The frames, at most <see cref="MaxSide"/> pixels a side.</param>
    /// <param name="durationMilliseconds">How long each frame shows, 1 … <see cref="MaxDurationMilliseconds"/>.</param>
    /// <param name="lossless">Lossless (libwebp's VP8L) or lossy (VP8).</param>
    /// <param name="quality">0 … 100: lossy, the quality; lossless, the effort spent on a smaller file.</param>
    /// <param name="cancellationToken">Stops between frames.</param>
    public static void Write(Stream output, Image images, int durationMilliseconds, bool lossless, int quality, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(durationMilliseconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(durationMilliseconds, MaxDurationMilliseconds);
        ArgumentOutOfRangeException.ThrowIfNegative(quality);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        if (images.Width > MaxSide || images.Height > MaxSide)
            throw new ArgumentException($"WebP images are at most {MaxSide} pixels a side; this one is {images.Width}×{images.Height}", nameof(images));
        var frames = new List<byte[]>(images.Batch);
        var alpha = false;
        for (var i = 0; i < images.Batch; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (frame, hasAlpha) = EncodeFrame(images, i, lossless, quality);
            frames.Add(frame);
            alpha |= hasAlpha;
        }

        var body = new MemoryStream();
        body.Write("WEBP"u8);
        Span<byte> extended = stackalloc byte[10];
        extended[0] = (byte)(0x02 | (alpha ? 0x10 : 0)); // animation, alpha
        WriteUInt24(extended[4..], images.Width - 1);
        WriteUInt24(extended[7..], images.Height - 1);
        WriteChunk(body, "VP8X"u8, extended);
        Span<byte> animation = stackalloc byte[6]; // background BGRA 0, 0, 0, 0; loop count 0: forever
        WriteChunk(body, "ANIM"u8, animation);
        Span<byte> placement = stackalloc byte[16];
        foreach (var frame in frames)
        {
            placement.Clear(); // at (0, 0)
            WriteUInt24(placement[6..], images.Width - 1);
            WriteUInt24(placement[9..], images.Height - 1);
            WriteUInt24(placement[12..], durationMilliseconds);
            placement[15] = 0x02; // do not blend (each frame replaces the canvas), no disposal
            var chunk = new byte[16 + frame.Length];
            placement.CopyTo(chunk);
            frame.CopyTo(chunk.AsSpan(16));
            WriteChunk(body, "ANMF"u8, chunk);
        }

        Span<byte> riff = stackalloc byte[8];
        "RIFF"u8.CopyTo(riff);
        BinaryPrimitives.WriteUInt32LittleEndian(riff[4..], checked((uint)body.Length));
        output.Write(riff);
        body.Position = 0;
        body.CopyTo(output);
    }

    // One image encoded by libwebp as a still WebP, and the chunks of its bitstream (ALPH if any, then VP8 or VP8L),
    // which an ANMF frame carries as they are.
    private static (byte[] Chunks, bool Alpha) EncodeFrame(Image images, int index, bool lossless, int quality)
    {
        int width = images.Width, height = images.Height, plane = width * height;
        var rgb = new byte[3 * plane];
        PngEncoder.ToBytes(images.PixelsOf(index), rgb);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = bitmap.GetPixelSpan();
        for (var p = 0; p < plane; p++)
        {
            rgba[4 * p] = rgb[p];
            rgba[4 * p + 1] = rgb[plane + p];
            rgba[4 * p + 2] = rgb[2 * plane + p];
            rgba[4 * p + 3] = 255;
        }

        using var pixels = bitmap.PeekPixels();
        using var data = pixels.Encode(new SKWebpEncoderOptions(lossless ? SKWebpEncoderCompression.Lossless : SKWebpEncoderCompression.Lossy, quality))
            ?? throw new InvalidOperationException($"libwebp could not encode frame {index} ({width}×{height})");
        return Bitstream(data.AsSpan());
    }

    // The ALPH, VP8 and VP8L chunks of a still WebP file, with their headers and padding.
    private static (byte[] Chunks, bool Alpha) Bitstream(ReadOnlySpan<byte> file)
    {
        if (file.Length < 12 || !file[..4].SequenceEqual("RIFF"u8) || !file[8..12].SequenceEqual("WEBP"u8))
            throw new InvalidOperationException("libwebp's output is not a RIFF WebP file");
        var chunks = new MemoryStream();
        var alpha = false;
        for (var at = 12; at + 8 <= file.Length;)
        {
            var type = file.Slice(at, 4);
            var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(file[(at + 4)..]);
            if (size < 0 || (long)at + 8 + size > file.Length) throw new InvalidOperationException("libwebp's output has a chunk past its end");
            if (type.SequenceEqual("ALPH"u8) || type.SequenceEqual("VP8 "u8) || type.SequenceEqual("VP8L"u8))
            {
                chunks.Write(file.Slice(at, 8 + size));
                if (size % 2 == 1) chunks.WriteByte(0);
                alpha |= type.SequenceEqual("ALPH"u8);
            }
            at += 8 + size + (size & 1);
        }
        if (chunks.Length == 0) throw new InvalidOperationException("libwebp's output has no VP8 or VP8L bitstream");
        return (chunks.ToArray(), alpha);
    }

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[8];
        type.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)data.Length);
        output.Write(header);
        output.Write(data);
        if (data.Length % 2 == 1) output.WriteByte(0);
    }

    private static void WriteUInt24(Span<byte> destination, int value)
    {
        destination[0] = (byte)value;
        destination[1] = (byte)(value >> 8);
        destination[2] = (byte)(value >> 16);
    }
}
