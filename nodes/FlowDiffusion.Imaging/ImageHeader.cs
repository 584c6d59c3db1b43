using System.Buffers.Binary;

namespace FlowDiffusion.Imaging;

/// <summary>
/// Reads the format and declared size of PNG, JPEG, WebP, GIF and BMP files from their leading bytes alone, so sizes are
/// checked against <see cref="ImageLimits"/> before a decoder sees the file. Everything else is refused.
/// </summary>
public static class ImageHeader
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The header of <paramref name="file"/>'s bytes, or null with the reason when it is not a readable image header.</summary>
    public static ImageHeaderInfo? Read(ReadOnlySpan<byte> file, out string? error)
    {
        error = null;
        if (file.StartsWith(PngSignature)) return Png(file, out error);
        if (file is [0xFF, 0xD8, 0xFF, ..]) return Jpeg(file, out error);
        if (file.Length >= 12 && file[..4].SequenceEqual("RIFF"u8) && file[8..12].SequenceEqual("WEBP"u8)) return WebP(file, out error);
        if (file.StartsWith("GIF87a"u8) || file.StartsWith("GIF89a"u8)) return Gif(file, out error);
        if (file.StartsWith("BM"u8)) return Bmp(file, out error);
        error = "is not a PNG, JPEG, WebP, GIF or BMP image (checked by its content, not its name)";
        return null;
    }

    /// <summary>
    /// Checks a header against <paramref name="limits"/>; returns null when it fits, else why not, naming the limit.
    /// </summary>
    public static string? Check(ImageHeaderInfo header, ImageLimits limits)
    {
        if (header.Width <= 0 || header.Height <= 0)
            return $"declares a size of {header.Width}×{header.Height} pixels, which is not an image";
        if (header.Width > limits.MaxDimension || header.Height > limits.MaxDimension)
            return $"declares {header.Width}×{header.Height} pixels; a side may be at most {limits.MaxDimension} (FlowDiffusion:MaxImageDimension)";
        if (header.Pixels > limits.MaxPixels)
            return $"declares {header.Width}×{header.Height} = {header.Pixels:N0} pixels; images are limited to {limits.MaxPixels:N0} pixels (FlowDiffusion:MaxImagePixels)";
        return null;
    }

    private static ImageHeaderInfo? Png(ReadOnlySpan<byte> file, out string? error)
    {
        // The signature, then IHDR first: length 13, type, width and height as big-endian 32-bit.
        if (file.Length < 24 || !file[12..16].SequenceEqual("IHDR"u8) || BinaryPrimitives.ReadUInt32BigEndian(file[8..]) != 13)
            return Truncated(ImageFormat.Png, out error);
        error = null;
        return new(ImageFormat.Png, BinaryPrimitives.ReadUInt32BigEndian(file[16..]), BinaryPrimitives.ReadUInt32BigEndian(file[20..]));
    }

    private static ImageHeaderInfo? Jpeg(ReadOnlySpan<byte> file, out string? error)
    {
        var at = 2;
        while (at + 4 <= file.Length)
        {
            if (file[at] != 0xFF) break;
            var marker = file[at + 1];
            if (marker == 0xFF)
            {
                at++; // fill byte
                continue;
            }
            if (marker is 0x01 or (>= 0xD0 and <= 0xD8))
            {
                at += 2; // markers without a length
                continue;
            }
            if (marker is 0xD9 or 0xDA) break; // end of image or start of scan before any frame header
            var length = BinaryPrimitives.ReadUInt16BigEndian(file[(at + 2)..]);
            if (length < 2) break;
            // Start of frame (SOF0–SOF15 except DHT C4, JPG C8 and DAC CC): precision, height, width.
            if (marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC))
            {
                if (at + 9 > file.Length || length < 7) break;
                error = null;
                return new(ImageFormat.Jpeg, BinaryPrimitives.ReadUInt16BigEndian(file[(at + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(file[(at + 5)..]));
            }
            at += 2 + length;
        }
        return Truncated(ImageFormat.Jpeg, out error);
    }

    private static ImageHeaderInfo? WebP(ReadOnlySpan<byte> file, out string? error)
    {
        if (file.Length >= 30 && file[12..16].SequenceEqual("VP8 "u8) && file[23] == 0x9D && file[24] == 0x01 && file[25] == 0x2A)
        {
            error = null;
            return new(ImageFormat.WebP, BinaryPrimitives.ReadUInt16LittleEndian(file[26..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(file[28..]) & 0x3FFF);
        }
        if (file.Length >= 25 && file[12..16].SequenceEqual("VP8L"u8) && file[20] == 0x2F)
        {
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(file[21..]);
            error = null;
            return new(ImageFormat.WebP, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
        }
        if (file.Length >= 30 && file[12..16].SequenceEqual("VP8X"u8))
        {
            error = null;
            return new(ImageFormat.WebP, Uint24(file[24..]) + 1L, Uint24(file[27..]) + 1L);
        }
        return Truncated(ImageFormat.WebP, out error);
    }

    private static ImageHeaderInfo? Gif(ReadOnlySpan<byte> file, out string? error)
    {
        if (file.Length < 10) return Truncated(ImageFormat.Gif, out error);
        error = null;
        return new(ImageFormat.Gif, BinaryPrimitives.ReadUInt16LittleEndian(file[6..]), BinaryPrimitives.ReadUInt16LittleEndian(file[8..]));
    }

    private static ImageHeaderInfo? Bmp(ReadOnlySpan<byte> file, out string? error)
    {
        if (file.Length < 26) return Truncated(ImageFormat.Bmp, out error);
        var dibSize = BinaryPrimitives.ReadUInt32LittleEndian(file[14..]);
        error = null;
        if (dibSize == 12)
            return new(ImageFormat.Bmp, BinaryPrimitives.ReadUInt16LittleEndian(file[18..]), BinaryPrimitives.ReadUInt16LittleEndian(file[20..]));
        // Negative height means rows run top-down; the size is its magnitude.
        long width = BinaryPrimitives.ReadInt32LittleEndian(file[18..]), height = BinaryPrimitives.ReadInt32LittleEndian(file[22..]);
        return new(ImageFormat.Bmp, width, Math.Abs(height));
    }

    private static int Uint24(ReadOnlySpan<byte> bytes) => bytes[0] | (bytes[1] << 8) | (bytes[2] << 16);

    private static ImageHeaderInfo? Truncated(ImageFormat format, out string? error)
    {
        error = $"starts like a {format.ToString().ToUpperInvariant()} file but its header is truncated or malformed";
        return null;
    }
}
