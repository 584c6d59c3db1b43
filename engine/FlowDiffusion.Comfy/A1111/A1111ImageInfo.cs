using System.Buffers.Binary;
using System.Text;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Imaging;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// A1111 1.10's <c>images.read_info_from_image</c> on the metadata Pillow gives it: a PNG's text chunks (<c>parameters</c>
/// is the infotext, the others are items); a JPEG's EXIF (its last <c>Exif</c> APP1 segment before the scan, as Pillow
/// keeps it) or WebP's EXIF chunk, whose UserComment (<see cref="A1111ExifComment"/>), when not empty, is the infotext;
/// without EXIF, a JPEG's COM segment or a GIF's comment extensions before its first image (joined by line breaks, as
/// Pillow joins them), as UTF-8 with invalid bytes dropped, are the infotext and stay an item (<c>comment</c>), as in
/// A1111. Every segment and chunk length is checked against the file.
/// </summary>
public static class A1111ImageInfo
{
    /// <summary>The infotext (null when there is none) and the items of an image file of <paramref name="format"/>.</summary>
    /// <exception cref="InvalidDataException">A segment, chunk or the EXIF data runs past the file.</exception>
    public static (string? Info, Dictionary<string, string> Items) Read(byte[] file, ImageFormat format)
    {
        ArgumentNullException.ThrowIfNull(file);
        var items = new Dictionary<string, string>(StringComparer.Ordinal);
        string? info = null;
        byte[]? exif = null, comment = null;
        switch (format)
        {
            case ImageFormat.Png:
                items = PngTextChunks.Read(file);
                items.Remove("parameters", out info);
                break;
            case ImageFormat.Jpeg:
                (exif, comment) = Jpeg(file);
                break;
            case ImageFormat.WebP:
                exif = WebPChunk(file, "EXIF"u8);
                break;
            case ImageFormat.Gif:
                comment = GifComment(file);
                items["version"] = Encoding.ASCII.GetString(file, 0, 6);
                break;
        }

        if (comment is not null) items["comment"] = A1111ExifComment.Utf8Ignoring.GetString(comment);
        if (exif is not null)
        {
            if (A1111ExifComment.Read(exif) is { Length: > 0 } text) info = text;
        }
        else if (comment is not null)
        {
            info = items["comment"];
        }

        return (info, items);
    }

    // The last Exif APP1 segment's data and the last COM segment's, among the segments before the scan.
    private static (byte[]? Exif, byte[]? Comment) Jpeg(byte[] file)
    {
        byte[]? exif = null, comment = null;
        var at = 2;
        while (at < file.Length)
        {
            if (file[at] != 0xFF) throw new InvalidDataException($"no JPEG marker at byte {at}");
            while (at < file.Length && file[at] == 0xFF) at++;
            if (at >= file.Length) break;
            var marker = file[at++];
            if (marker is 0xD9 or 0xDA) break;
            if (marker is 0x01 or >= 0xD0 and <= 0xD7) continue;
            if (at + 2 > file.Length) throw new InvalidDataException($"the JPEG segment {marker:X2} at byte {at - 2} is cut short");
            var length = BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan(at));
            if (length < 2 || at + length > file.Length) throw new InvalidDataException($"the JPEG segment {marker:X2} at byte {at - 2} declares {length} bytes, past the file's end");
            var data = file.AsSpan(at + 2, length - 2);
            if (marker == 0xE1 && data.StartsWith("Exif\0\0"u8)) exif = data.ToArray();
            else if (marker == 0xFE) comment = data.ToArray();
            at += length;
        }

        return (exif, comment);
    }

    // The first chunk of a type of a RIFF WebP file.
    private static byte[]? WebPChunk(byte[] file, ReadOnlySpan<byte> type)
    {
        var at = 12;
        while (at + 8 <= file.Length)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 4));
            if (at + 8L + size > file.Length) throw new InvalidDataException($"the WebP chunk {Encoding.ASCII.GetString(file, at, 4)} at byte {at} declares {size} bytes, past the file's end");
            if (file.AsSpan(at, 4).SequenceEqual(type)) return file.AsSpan(at + 8, (int)size).ToArray();
            at += 8 + (int)size + (int)(size & 1);
        }

        return null;
    }

    // The comment extensions before the first image, each's sub-blocks joined, the comments joined by "\n"; null when none.
    private static byte[]? GifComment(byte[] file)
    {
        var at = 13;
        if (file.Length < at) throw new InvalidDataException("the GIF header is cut short");
        if ((file[10] & 0x80) != 0) at += 3 << ((file[10] & 7) + 1);
        List<byte>? comment = null;
        while (at < file.Length && file[at] == 0x21)
        {
            if (at + 2 > file.Length) throw new InvalidDataException($"the GIF extension at byte {at} is cut short");
            var isComment = file[at + 1] == 0xFE;
            if (isComment && comment is not null) comment.Add((byte)'\n');
            if (isComment) comment ??= [];
            at += 2;
            while (true)
            {
                if (at >= file.Length) throw new InvalidDataException($"the GIF extension's blocks run past the file's end");
                var size = file[at++];
                if (size == 0) break;
                if (at + size > file.Length) throw new InvalidDataException($"a GIF block at byte {at - 1} declares {size} bytes, past the file's end");
                if (isComment) comment!.AddRange(file.AsSpan(at, size));
                at += size;
            }
        }

        return comment?.ToArray();
    }
}
