using System.Buffers.Binary;
using System.Text;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// The EXIF <c>UserComment</c> where A1111 keeps a JPEG's or WebP's infotext, read as its <c>read_info_from_image</c>
/// reads it with piexif: the TIFF structure's IFD0, its Exif IFD pointer (tag 34665), that IFD's UserComment (tag 37510,
/// UNDEFINED), decoded by its 8-byte character code as <c>piexif.helper.UserComment.load</c> does (<c>UNICODE</c>: UTF-16
/// big-endian, whatever the TIFF byte order; <c>ASCII</c>; <c>JIS</c>: Shift JIS; each with U+FFFD for what does not
/// decode), and anything else (a short value, an undefined or unknown code) as UTF-8 of the whole value with the invalid
/// bytes dropped. Every offset and count is checked against the data and only those two IFDs are visited, so damaged
/// data costs at most one pass over it.
/// </summary>
public static class A1111ExifComment
{
    private const ushort ExifPointerTag = 0x8769;
    private const ushort UserCommentTag = 0x9286;

    private static readonly Encoding Ascii = Encoding.GetEncoding("us-ascii", EncoderFallback.ReplacementFallback, new DecoderReplacementFallback("\uFFFD"));
    private static readonly Encoding Utf16BigEndian = new UnicodeEncoding(bigEndian: true, byteOrderMark: false, throwOnInvalidBytes: false);
    /// <summary>UTF-8 with invalid bytes dropped, as Python's <c>decode("utf8", errors="ignore")</c>.</summary>
    internal static Encoding Utf8Ignoring { get; } = Encoding.GetEncoding("utf-8", EncoderFallback.ReplacementFallback, new DecoderReplacementFallback(""));

    /// <summary>The prefix A1111 writes before a UTF-16 big-endian comment (<c>UserComment.dump(…, encoding="unicode")</c>).</summary>
    public static ReadOnlySpan<byte> UnicodePrefix => "UNICODE\0"u8;

    /// <summary>
    /// The comment of EXIF data (a TIFF structure, optionally after <c>Exif\0\0</c>, as JPEG's APP1 and WebP's EXIF chunk
    /// hold it); null when the data is not TIFF (piexif fails to load it and A1111 goes on without) or has no UserComment.
    /// </summary>
    /// <exception cref="InvalidDataException">An IFD or value lies outside the data.</exception>
    public static string? Read(ReadOnlySpan<byte> exif)
    {
        if (exif.StartsWith("Exif\0\0"u8)) exif = exif[6..];
        bool little;
        if (exif.StartsWith("II*\0"u8)) little = true;
        else if (exif.StartsWith("MM\0*"u8)) little = false;
        else return null;
        if (exif.Length < 8) throw new InvalidDataException("the EXIF header is cut short");
        var exifIfd = Find(exif, U32(exif, 4, little), ExifPointerTag, little, "IFD0");
        if (exifIfd is not { } pointer) return null;
        if (pointer.Type is not (4 or 13) || pointer.Count != 1) throw new InvalidDataException("the Exif IFD pointer is not one LONG");
        var comment = Find(exif, U32(exif, pointer.ValueOffset, little), UserCommentTag, little, "the Exif IFD");
        if (comment is not { Type: 7 } value) return null;
        if (value.Count > 4) value = value with { ValueOffset = U32(exif, value.ValueOffset, little) };
        if (value.ValueOffset + value.Count > exif.Length) throw new InvalidDataException($"the UserComment's {value.Count} bytes at {value.ValueOffset} run past the EXIF data's {exif.Length}");
        return Decode(exif.Slice((int)value.ValueOffset, (int)value.Count));
    }

    /// <summary><c>piexif.helper.UserComment.load</c>, falling back to A1111's UTF-8 with the invalid bytes dropped.</summary>
    public static string Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 8)
        {
            var body = data[8..];
            if (data.StartsWith(UnicodePrefix)) return Utf16BigEndian.GetString(body);
            if (data.StartsWith("ASCII\0\0\0"u8)) return Ascii.GetString(body);
            if (data.StartsWith("JIS\0\0\0\0\0"u8)) return ShiftJis().GetString(body);
        }

        return Utf8Ignoring.GetString(data);
    }

    // The entry of tag in the IFD at offset: its type, count and the offset of its 4-byte value field.
    private static (ushort Type, long Count, long ValueOffset)? Find(ReadOnlySpan<byte> exif, long offset, ushort tag, bool little, string name)
    {
        if (offset + 2 > exif.Length) throw new InvalidDataException($"{name} at {offset} lies outside the EXIF data's {exif.Length} bytes");
        var count = U16(exif, offset, little);
        if (offset + 2 + 12L * count > exif.Length) throw new InvalidDataException($"{name}'s {count} entries at {offset} run past the EXIF data's {exif.Length} bytes");
        for (var i = 0; i < count; i++)
        {
            var entry = offset + 2 + 12L * i;
            if (U16(exif, entry, little) == tag) return (U16(exif, entry + 2, little), U32(exif, entry + 4, little), entry + 8);
        }

        return null;
    }

    private static ushort U16(ReadOnlySpan<byte> data, long at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(data[(int)at..]) : BinaryPrimitives.ReadUInt16BigEndian(data[(int)at..]);

    private static long U32(ReadOnlySpan<byte> data, long at, bool little)
    {
        if (at + 4 > data.Length) throw new InvalidDataException($"a value at {at} lies outside the EXIF data's {data.Length} bytes");
        return little ? BinaryPrimitives.ReadUInt32LittleEndian(data[(int)at..]) : BinaryPrimitives.ReadUInt32BigEndian(data[(int)at..]);
    }

    private static Encoding ShiftJis() =>
        CodePagesEncodingProvider.Instance.GetEncoding(932, EncoderFallback.ReplacementFallback, new DecoderReplacementFallback("\uFFFD"))
        ?? throw new InvalidOperationException("Shift JIS is not available");
}
