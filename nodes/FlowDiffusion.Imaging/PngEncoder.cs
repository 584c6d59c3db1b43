using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using System.Numerics.Tensors;
using System.Text;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Imaging;

/// <summary>
/// Writes one image of a batch as an 8-bit RGB PNG with its text chunks after IHDR (<see cref="WriteText"/>).
/// </summary>
/// <remarks>
/// Written here rather than through SkiaSharp because saving sits on every run's critical path (SkiaSharp's RGBA
/// encode at zlib level 4 was the largest single cost outside ONNX Runtime in txt2img): the conversion to bytes and the
/// scanline filter are vectorised, every row after the first uses the Up filter, and zlib runs at level 1 with
/// run-length matching, in pieces on all cores (<see cref="ParallelZlib"/>). Pixels are rounded as before:
/// round-half-even of value × 255, clamped to 0…255.
/// </remarks>
public static class PngEncoder
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    // Level 1 with run-length matching only: on a 512×512 render about as small as zlib's level 6 (the residuals of
    // the Up filter are noise-like, so entropy coding does the work) at a third of its time.
    private static readonly ZLibCompressionOptions Compression = new() { CompressionLevel = 1, CompressionStrategy = ZLibCompressionStrategy.RunLengthEncoding };

    /// <summary>Writes image <paramref name="index"/> of <paramref name="image"/> to <paramref name="output"/> as PNG.</summary>
    /// <param name="output">Where the file goes.</param>
    /// <param name="image">The batch.</param>
    /// <param name="index">Which image of the batch.</param>
    /// <param name="text">Keyword → text entries, each written by <see cref="WriteText"/>.</param>
    public static void Write(Stream output, Image image, int index, IEnumerable<KeyValuePair<string, string>> text)
    {
        int width = image.Width, height = image.Height, stride = 1 + 3 * width;
        var length = checked(height * stride);
        var scanlines = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Scanlines(image.MemoryOf(index), width, height, scanlines.AsMemory(0, length));
            WriteHeader(output, width, height, text);
            using (var idat = new IdatStream(output))
            {
                ParallelZlib.Write(idat, scanlines.AsMemory(0, length), Compression);
            }
            WriteChunk(output, "IEND"u8, []);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scanlines);
        }
    }

    // The signature, IHDR (8-bit RGB) and the text chunks.
    internal static void WriteHeader(Stream output, int width, int height, IEnumerable<KeyValuePair<string, string>> text)
    {
        output.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8; // bits per channel
        header[9] = 2; // colour type RGB; compression, filter method and interlace stay 0
        WriteChunk(output, "IHDR"u8, header);
        foreach (var (keyword, value) in text) WriteText(output, keyword, value);
    }

    /// <summary>
    /// Writes one uncompressed text chunk as Pillow's <c>PngInfo.add_text</c> does (ComfyUI's <c>prompt</c> and
    /// <c>workflow</c>, A1111's <c>parameters</c>): tEXt when the text is Latin-1, else iTXt with the text in UTF-8.
    /// </summary>
    /// <param name="output">Where the chunk goes.</param>
    /// <param name="keyword">1 to 79 Latin-1 characters, none of them a control character.</param>
    /// <param name="text">The text.</param>
    /// <exception cref="ArgumentException">The keyword is not a PNG keyword.</exception>
    public static void WriteText(Stream output, string keyword, string text)
    {
        CheckKeyword(keyword);
        var latin1 = text.All(c => c <= '\u00FF');
        // tEXt: keyword \0 Latin-1 text. iTXt: keyword \0, compression flag 0, method 0, empty language tag \0, empty
        // translated keyword \0, UTF-8 text.
        var header = latin1 ? 1 : 5;
        var data = new byte[keyword.Length + header + (latin1 ? text.Length : Encoding.UTF8.GetByteCount(text))];
        var at = Encoding.Latin1.GetBytes(keyword, data) + header;
        if (latin1) Encoding.Latin1.GetBytes(text, data.AsSpan(at));
        else Encoding.UTF8.GetBytes(text, data.AsSpan(at));
        WriteChunk(output, latin1 ? "tEXt"u8 : "iTXt"u8, data);
    }

    // Filtered scanlines: a filter-type byte, then the row's RGB bytes (None for the first row, Up after it); bands of
    // rows on all cores, each band converting the row above it too so it needs nothing from its neighbours.
    internal static void Scanlines(ReadOnlyMemory<float> pixels, int width, int height, Memory<byte> scanlines) =>
        ParallelBands.Run(height, (128 * 1024) / (3 * width), (first, end) => ScanlineBand(pixels.Span, width, height, first, end, scanlines.Span));

    private static void ScanlineBand(ReadOnlySpan<float> pixels, int width, int height, int first, int end, Span<byte> scanlines)
    {
        int plane = width * height, stride = 1 + 3 * width, top = Math.Max(0, first - 1), rows = end - top;
        var planar = ArrayPool<byte>.Shared.Rent(3 * rows * width + 6 * width);
        try
        {
            for (var c = 0; c < 3; c++)
                ToBytes(pixels.Slice(c * plane + top * width, rows * width), planar.AsSpan(c * rows * width, rows * width));
            var previous = planar.AsSpan(3 * rows * width, 3 * width);
            var current = planar.AsSpan(3 * rows * width + 3 * width, 3 * width);
            for (var y = top; y < end; y++)
            {
                var row = (y - top) * width;
                for (var x = 0; x < width; x++)
                {
                    current[3 * x] = planar[row + x];
                    current[3 * x + 1] = planar[rows * width + row + x];
                    current[3 * x + 2] = planar[2 * rows * width + row + x];
                }
                if (y >= first)
                {
                    var line = scanlines.Slice(y * stride, stride);
                    if (y == 0)
                    {
                        line[0] = 0;
                        current.CopyTo(line[1..]);
                    }
                    else
                    {
                        line[0] = 2;
                        TensorPrimitives.Subtract<byte>(current, previous, line[1..]);
                    }
                }
                var swap = previous;
                previous = current;
                current = swap;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(planar);
        }
    }

    // round-half-even(value × 255) clamped to 0…255, as (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255) does
    // one value at a time (NaN gives 0 both ways).
    internal static void ToBytes(ReadOnlySpan<float> values, Span<byte> destination)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var n = Vector<float>.Count;
            var scale = new Vector<float>(255f);
            var top = new Vector<float>(255f);
            for (; i + 4 * n <= values.Length; i += 4 * n)
            {
                var a = Vector.ConvertToInt32(Vector.Min(Vector.Max(Vector.Round(new Vector<float>(values[i..]) * scale), Vector<float>.Zero), top));
                var b = Vector.ConvertToInt32(Vector.Min(Vector.Max(Vector.Round(new Vector<float>(values[(i + n)..]) * scale), Vector<float>.Zero), top));
                var c = Vector.ConvertToInt32(Vector.Min(Vector.Max(Vector.Round(new Vector<float>(values[(i + 2 * n)..]) * scale), Vector<float>.Zero), top));
                var d = Vector.ConvertToInt32(Vector.Min(Vector.Max(Vector.Round(new Vector<float>(values[(i + 3 * n)..]) * scale), Vector<float>.Zero), top));
                var low = Vector.AsVectorUInt16(Vector.Narrow(a, b));
                var high = Vector.AsVectorUInt16(Vector.Narrow(c, d));
                Vector.Narrow(low, high).CopyTo(destination[i..]);
            }
        }
        for (; i < values.Length; i++) destination[i] = (byte)Math.Clamp((int)MathF.Round(values[i] * 255f), 0, 255);
    }

    /// <summary>Whether <paramref name="keyword"/> can name a text chunk: 1 to 79 Latin-1 characters, no control characters.</summary>
    /// <param name="keyword">The keyword.</param>
    public static bool IsTextKeyword(string keyword) =>
        keyword.Length is >= 1 and <= 79 && !keyword.Any(c => c is < ' ' or > '\u00FF' or (>= '\u007F' and < '\u00A0'));

    internal static void CheckKeyword(string keyword)
    {
        if (!IsTextKeyword(keyword))
            throw new ArgumentException($"'{keyword}' is not a PNG text keyword: use 1 to 79 Latin-1 characters, no control characters", nameof(keyword));
    }

    /// <summary>Writes one PNG chunk: its length, type, data and CRC.</summary>
    /// <param name="output">Where the chunk goes.</param>
    /// <param name="type">The four-letter type.</param>
    /// <param name="data">The chunk's data.</param>
    public static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        type.CopyTo(header[4..]);
        output.Write(header);
        output.Write(data);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, PngCrc.Update(PngCrc.Update(0xFFFFFFFFu, type), data) ^ 0xFFFFFFFFu);
        output.Write(crc);
    }
}
