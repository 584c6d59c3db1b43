using System.Buffers.Binary;
using FlowDiffusion.Sdk.Values;
using SkiaSharp;

namespace FlowDiffusion.Imaging;

/// <summary>
/// Writes a batch as an animated WebP (the extended format: VP8X, ANIM, one ANMF per image): each image is encoded by
/// libwebp through SkiaSharp, lossless or lossy at a quality, as a frame covering the whole canvas, shown for the same
/// duration, looping forever over a transparent black background, then the EXIF data if any (ComfyUI's SaveAnimatedWEBP
/// keeps its prompt and workflow there).
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
    /// <param name="exif">EXIF data (<see cref="ExifText"/>) for an EXIF chunk after the frames; empty for none.</param>
    /// <param name="cancellationToken">Stops between frames.</param>
    public static void Write(Stream output, Image images, int durationMilliseconds, bool lossless, int quality, ReadOnlySpan<byte> exif,
        CancellationToken cancellationToken = default)
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

        // The RIFF size first, so the chunks go straight to the output: "WEBP", VP8X, ANIM, the frames, EXIF.
        var size = 4 + ChunkSize(10) + ChunkSize(6) + frames.Sum(f => ChunkSize(16 + f.Length)) + (exif.IsEmpty ? 0 : ChunkSize(exif.Length));
        if (size > uint.MaxValue - 8) throw new ArgumentException($"the animation is {size:N0} bytes, more than a WebP file can hold", nameof(images));
        Span<byte> riff = stackalloc byte[12];
        "RIFF"u8.CopyTo(riff);
        BinaryPrimitives.WriteUInt32LittleEndian(riff[4..], (uint)size);
        "WEBP"u8.CopyTo(riff[8..]);
        output.Write(riff);
        Span<byte> extended = stackalloc byte[10];
        extended[0] = (byte)(0x02 | (alpha ? 0x10 : 0) | (exif.IsEmpty ? 0 : 0x08)); // animation, alpha, EXIF
        WriteUInt24(extended[4..], images.Width - 1);
        WriteUInt24(extended[7..], images.Height - 1);
        WriteChunk(output, "VP8X"u8, extended);
        Span<byte> animation = stackalloc byte[6]; // background BGRA 0, 0, 0, 0; loop count 0: forever
        WriteChunk(output, "ANIM"u8, animation);
        Span<byte> placement = stackalloc byte[16];
        foreach (var frame in frames)
        {
            placement.Clear(); // at (0, 0)
            WriteUInt24(placement[6..], images.Width - 1);
            WriteUInt24(placement[9..], images.Height - 1);
            WriteUInt24(placement[12..], durationMilliseconds);
            placement[15] = 0x02; // do not blend (each frame replaces the canvas), no disposal
            WriteChunkHeader(output, "ANMF"u8, 16 + frame.Length);
            output.Write(placement);
            output.Write(frame); // its chunks, each padded: an even length
        }
        if (!exif.IsEmpty) WriteChunk(output, "EXIF"u8, exif);
    }

    // A chunk's bytes in the file: header, data, the padding to an even length.
    private static long ChunkSize(long data) => 8 + data + (data & 1);

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
        WriteChunkHeader(output, type, data.Length);
        output.Write(data);
        if (data.Length % 2 == 1) output.WriteByte(0);
    }

    private static void WriteChunkHeader(Stream output, ReadOnlySpan<byte> type, int length)
    {
        Span<byte> header = stackalloc byte[8];
        type.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)length);
        output.Write(header);
    }

    private static void WriteUInt24(Span<byte> destination, int value)
    {
        destination[0] = (byte)value;
        destination[1] = (byte)(value >> 8);
        destination[2] = (byte)(value >> 16);
    }
}
