using System.Buffers.Binary;
using System.IO.Compression;

namespace FlowDiffusion.Imaging.Tests;

/// <summary>Tiny files whose headers declare huge images, one per format, written byte by byte from the format specs.</summary>
public static class ImageBombs
{
    /// <summary>A complete, valid PNG (signature, IHDR, one zlib IDAT, IEND) declaring <paramref name="width"/>×<paramref name="height"/> RGB pixels.</summary>
    public static byte[] Png(uint width, uint height)
    {
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        Chunk(file, "IHDR", ihdr);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true)) zlib.Write(new byte[64]);
            Chunk(file, "IDAT", compressed.ToArray());
        }
        Chunk(file, "IEND", []);
        return file.ToArray();
    }

    /// <summary>A baseline JPEG's start: SOI, a SOF0 frame header declaring the size, EOI.</summary>
    public static byte[] Jpeg(ushort width, ushort height)
    {
        byte[] file = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0, 0, 0, 0, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xD9];
        BinaryPrimitives.WriteUInt16BigEndian(file.AsSpan(13), height);
        BinaryPrimitives.WriteUInt16BigEndian(file.AsSpan(15), width);
        return file;
    }

    /// <summary>An extended WebP (VP8X) declaring a canvas of up to 2²⁴ × 2²⁴.</summary>
    public static byte[] WebP(int width, int height)
    {
        var file = new byte[30];
        "RIFF"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(4), 22);
        "WEBPVP8X"u8.CopyTo(file.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(16), 10);
        WriteUInt24(file.AsSpan(24), width - 1);
        WriteUInt24(file.AsSpan(27), height - 1);
        return file;
    }

    /// <summary>A GIF header and logical screen descriptor.</summary>
    public static byte[] Gif(ushort width, ushort height)
    {
        var file = new byte[13];
        "GIF89a"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(6), width);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), height);
        return file;
    }

    /// <summary>A BMP file header and BITMAPINFOHEADER (24-bit) declaring the size, with no pixels.</summary>
    public static byte[] Bmp(int width, int height)
    {
        var file = new byte[54];
        "BM"u8.CopyTo(file);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(2), 54);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(file.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(file.AsSpan(28), 24);
        return file;
    }

    private static void WriteUInt24(Span<byte> bytes, int value)
    {
        bytes[0] = (byte)value;
        bytes[1] = (byte)(value >> 8);
        bytes[2] = (byte)(value >> 16);
    }

    private static void Chunk(Stream file, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)data.Length);
        file.Write(length);
        var typed = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, typed);
        data.CopyTo(typed, 4);
        file.Write(typed);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        file.Write(crc);
    }

    // CRC-32 (ISO 3309, reflected polynomial 0xEDB88320), as PNG chunks carry it.
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
