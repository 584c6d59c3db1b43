using System.Buffers.Binary;
using System.Text;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// Reads saved files' containers straight from their formats, for tests that check where metadata went: a PNG's chunks
/// (each CRC checked), a RIFF WebP's top-level chunks (the RIFF size checked) and the ASCII entries of EXIF's first
/// directory (either byte order). Also PNG's CRC-32, for tests that build PNGs.
/// </summary>
internal static class SavedChunks
{
    private static readonly byte[] PngSignature = [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>CRC-32 as PNG defines it (polynomial 0xEDB88320, reflected), a bit at a time.</summary>
    public static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        return crc ^ 0xFFFFFFFFu;
    }

    /// <summary>The chunks after the signature, in order, each CRC checked.</summary>
    public static List<(string Type, byte[] Data)> Png(byte[] file)
    {
        Assert.True(file.AsSpan().StartsWith(PngSignature), "not a PNG");
        var chunks = new List<(string, byte[])>();
        for (var at = 8; at < file.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
            var typed = file.AsSpan(at + 4, 4 + length);
            Assert.Equal(Crc32(typed), BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at + 8 + length)));
            chunks.Add((Encoding.ASCII.GetString(typed[..4]), typed[4..].ToArray()));
            at += 12 + length;
        }
        return chunks;
    }

    /// <summary>A WebP's chunks after <c>RIFF size WEBP</c>, in order; the size must be the file's length less 8.</summary>
    public static List<(string Type, byte[] Data)> Riff(byte[] file)
    {
        Assert.Equal("RIFF", Encoding.ASCII.GetString(file, 0, 4));
        Assert.Equal("WEBP", Encoding.ASCII.GetString(file, 8, 4));
        Assert.Equal((uint)file.Length - 8, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(4)));
        var chunks = new List<(string, byte[])>();
        for (var at = 12; at < file.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 4));
            chunks.Add((Encoding.ASCII.GetString(file, at, 4), file.AsSpan(at + 8, length).ToArray()));
            at += 8 + length + (length & 1);
        }
        return chunks;
    }

    /// <summary>The ASCII entries (type 2) of EXIF's first directory by tag, as UTF-8 without the closing zero byte.</summary>
    public static Dictionary<ushort, string> ExifAscii(byte[] exif)
    {
        var big = Encoding.ASCII.GetString(exif, 0, 2) switch
        {
            "MM" => true,
            "II" => false,
            var other => throw new InvalidDataException($"byte order '{other}'"),
        };
        ushort U16(int at) => big ? BinaryPrimitives.ReadUInt16BigEndian(exif.AsSpan(at)) : BinaryPrimitives.ReadUInt16LittleEndian(exif.AsSpan(at));
        uint U32(int at) => big ? BinaryPrimitives.ReadUInt32BigEndian(exif.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(exif.AsSpan(at));
        Assert.Equal(42, U16(2));
        var directory = (int)U32(4);
        var entries = new Dictionary<ushort, string>();
        for (var i = 0; i < U16(directory); i++)
        {
            var entry = directory + 2 + 12 * i;
            if (U16(entry + 2) != 2) continue;
            var count = (int)U32(entry + 4);
            var value = count <= 4 ? entry + 8 : (int)U32(entry + 8);
            Assert.Equal(0, exif[value + count - 1]);
            entries[U16(entry)] = Encoding.UTF8.GetString(exif, value, count - 1);
        }
        return entries;
    }
}
