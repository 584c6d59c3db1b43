using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Writes 8-bit grayscale and RGB PNGs straight from the format, for images a test needs pixel by pixel.</summary>
internal static class TestPng
{
    public static void WriteGray(string path, int width, int height, Func<int, int, byte> level) =>
        Write(path, width, height, 1, (x, y, _) => level(x, y));

    public static void WriteRgb(string path, int width, int height, Func<int, int, (byte R, byte G, byte B)> colour) =>
        Write(path, width, height, 3, (x, y, c) => c switch { 0 => colour(x, y).R, 1 => colour(x, y).G, _ => colour(x, y).B });

    // Filter 0 on every row; colour type 0 (gray) for one channel, 2 (RGB) for three.
    private static void Write(string path, int width, int height, int channels, Func<int, int, int, byte> sample)
    {
        var stride = 1 + channels * width;
        var raw = new byte[height * stride];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        for (var c = 0; c < channels; c++)
            raw[y * stride + 1 + channels * x + c] = sample(x, y, c);
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(raw);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bits per sample
        header[9] = (byte)(channels == 1 ? 0 : 2); // then compression, filter, interlace 0

        using var file = File.Create(path);
        file.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        Chunk(file, "IHDR", header);
        Chunk(file, "IDAT", compressed.ToArray());
        Chunk(file, "IEND", []);
    }

    public static void Chunk(Stream file, string type, byte[] data)
    {
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, SavedChunks.Crc32(typed));
        file.Write(length);
        file.Write(typed);
        file.Write(crc);
    }
}
