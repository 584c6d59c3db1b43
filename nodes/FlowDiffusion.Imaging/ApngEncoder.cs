using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Imaging;

/// <summary>
/// Writes a batch as an animated PNG (APNG 1.0): one 8-bit RGB frame per image, each covering the whole canvas and
/// shown for the same delay, looping forever. The first frame is also the still image (IDAT) that viewers without APNG
/// show; the text goes into text chunks before the frames, as in <see cref="PngEncoder"/>.
/// </summary>
public static class ApngEncoder
{
    /// <summary>The longest delay a frame can carry: 65,535 / 1 seconds.</summary>
    public const double MaxDelaySeconds = ushort.MaxValue;

    /// <summary>Writes every image of <paramref name="images"/> to <paramref name="output"/> as one APNG.</summary>
    /// <param name="output">Where the file goes.</param>
    /// <param name="images">The frames.</param>
    /// <param name="delaySeconds">How long each frame shows, above 0 and at most <see cref="MaxDelaySeconds"/>.</param>
    /// <param name="compressLevel">zlib's level, 0 (stored) … 9.</param>
    /// <param name="text">Keyword → text entries, each written by <see cref="PngEncoder.WriteText"/>.</param>
    /// <param name="cancellationToken">Stops between frames.</param>
    public static void Write(Stream output, Image images, double delaySeconds, int compressLevel, IEnumerable<KeyValuePair<string, string>> text,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(delaySeconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(delaySeconds, MaxDelaySeconds);
        ArgumentOutOfRangeException.ThrowIfNegative(compressLevel);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(compressLevel, 9);
        int width = images.Width, height = images.Height;
        var length = checked(height * (1 + 3 * width));
        var compression = new ZLibCompressionOptions { CompressionLevel = compressLevel, CompressionStrategy = ZLibCompressionStrategy.Default };
        var (numerator, denominator) = Delay(delaySeconds);
        uint sequence = 0;
        PngEncoder.WriteHeader(output, width, height, text);
        Span<byte> control = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(control, images.Batch);
        BinaryPrimitives.WriteInt32BigEndian(control[4..], 0); // plays: 0 loops forever
        PngEncoder.WriteChunk(output, "acTL"u8, control);
        var scanlines = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            for (var i = 0; i < images.Batch; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                WriteFrameControl(output, sequence++, width, height, numerator, denominator);
                PngEncoder.Scanlines(images.MemoryOf(i), width, height, scanlines.AsMemory(0, length));
                using var data = i == 0 ? new IdatStream(output) : new IdatStream(output, () => sequence++);
                ParallelZlib.Write(data, scanlines.AsMemory(0, length), compression);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scanlines);
        }
        PngEncoder.WriteChunk(output, "IEND"u8, []);
    }

    /// <summary>The delay as APNG's fraction: milliseconds over 1000 while they fit 16 bits, else whole seconds over 1.</summary>
    /// <param name="seconds">The delay, above 0 and at most <see cref="MaxDelaySeconds"/>.</param>
    public static (ushort Numerator, ushort Denominator) Delay(double seconds)
    {
        var milliseconds = Math.Round(seconds * 1000);
        return milliseconds <= ushort.MaxValue
            ? ((ushort)Math.Max(1, milliseconds), (ushort)1000)
            : ((ushort)Math.Min(ushort.MaxValue, Math.Round(seconds)), (ushort)1);
    }

    // fcTL: the whole canvas at (0, 0), no disposal, drawn over nothing (source).
    private static void WriteFrameControl(Stream output, uint sequence, int width, int height, ushort numerator, ushort denominator)
    {
        Span<byte> control = stackalloc byte[26];
        BinaryPrimitives.WriteUInt32BigEndian(control, sequence);
        BinaryPrimitives.WriteInt32BigEndian(control[4..], width);
        BinaryPrimitives.WriteInt32BigEndian(control[8..], height);
        BinaryPrimitives.WriteInt32BigEndian(control[12..], 0);
        BinaryPrimitives.WriteInt32BigEndian(control[16..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(control[20..], numerator);
        BinaryPrimitives.WriteUInt16BigEndian(control[22..], denominator);
        control[24] = 0; // dispose_op: none
        control[25] = 0; // blend_op: source
        PngEncoder.WriteChunk(output, "fcTL"u8, control);
    }
}
