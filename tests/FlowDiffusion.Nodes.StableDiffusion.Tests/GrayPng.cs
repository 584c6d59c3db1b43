using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Writes 8-bit grayscale PNGs straight from the format, for masks a test needs pixel by pixel.</summary>
internal static class GrayPng
{
    public static void Write(string path, int width, int height, Func<int, int, byte> level)
    {
        var raw = new byte[height * (width + 1)];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            raw[y * (width + 1) + 1 + x] = level(x, y);
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(raw);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bits per sample; colour type 0 (gray), then compression, filter, interlace 0

        using var file = File.Create(path);
        file.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        Chunk(file, "IHDR", header);
        Chunk(file, "IDAT", compressed.ToArray());
        Chunk(file, "IEND", []);
    }

    private static void Chunk(Stream file, string type, byte[] data)
    {
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        file.Write(length);
        file.Write(typed);
        file.Write(crc);
    }

    // CRC-32 as PNG defines it (polynomial 0xEDB88320, reflected), a bit at a time.
    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        return crc ^ 0xFFFFFFFFu;
    }
}
