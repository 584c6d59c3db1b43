using System.Text;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// PNG text chunks: inserts uncompressed iTXt chunks (UTF-8) after IHDR, and reads iTXt / tEXt chunks back, so a
/// saved image carries the workflow that made it.
/// </summary>
public static class PngText
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>The PNG with the given keyword → text entries added.</summary>
    public static byte[] Insert(byte[] png, IEnumerable<KeyValuePair<string, string>> entries)
    {
        if (!png.AsSpan(0, 8).SequenceEqual(Signature)) throw new InvalidDataException("not a PNG file");
        var ihdrEnd = 8 + 12 + ReadLength(png, 8);
        using var output = new MemoryStream(png.Length + 1024);
        output.Write(png, 0, ihdrEnd);
        foreach (var (keyword, text) in entries)
        {
            var data = new List<byte>();
            data.AddRange(Encoding.Latin1.GetBytes(keyword));
            data.AddRange([0, 0, 0, 0, 0]); // null, compression flag, method, empty language tag, empty translated keyword
            data.AddRange(Encoding.UTF8.GetBytes(text));
            WriteChunk(output, "iTXt", data.ToArray());
        }
        output.Write(png, ihdrEnd, png.Length - ihdrEnd);
        return output.ToArray();
    }

    /// <summary>The text chunks of a PNG (iTXt uncompressed and tEXt), by keyword.</summary>
    public static Dictionary<string, string> Read(ReadOnlySpan<byte> png)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (png.Length < 8 || !png[..8].SequenceEqual(Signature)) return result;
        var offset = 8;
        while (offset + 12 <= png.Length)
        {
            var length = ReadLength(png, offset);
            if (length < 0 || offset + 12 + length > png.Length) break;
            var type = Encoding.ASCII.GetString(png.Slice(offset + 4, 4));
            var data = png.Slice(offset + 8, length);
            var zero = data.IndexOf((byte)0);
            if (zero > 0 && type == "tEXt")
                result[Encoding.Latin1.GetString(data[..zero])] = Encoding.Latin1.GetString(data[(zero + 1)..]);
            else if (zero > 0 && type == "iTXt" && data.Length > zero + 2 && data[zero + 1] == 0)
            {
                var rest = data[(zero + 3)..];
                var language = rest.IndexOf((byte)0);
                if (language >= 0)
                {
                    rest = rest[(language + 1)..];
                    var translated = rest.IndexOf((byte)0);
                    if (translated >= 0) result[Encoding.Latin1.GetString(data[..zero])] = Encoding.UTF8.GetString(rest[(translated + 1)..]);
                }
            }
            if (type == "IEND") break;
            offset += 12 + length;
        }
        return result;
    }

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    // The PNG specification's CRC-32 (ISO 3309), continued from a running value.
    private static uint Crc32(ReadOnlySpan<byte> bytes, uint crc)
    {
        foreach (var b in bytes) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static int ReadLength(ReadOnlySpan<byte> png, int offset) =>
        (png[offset] << 24) | (png[offset + 1] << 16) | (png[offset + 2] << 8) | png[offset + 3];

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> header = stackalloc byte[8];
        header[0] = (byte)(data.Length >> 24);
        header[1] = (byte)(data.Length >> 16);
        header[2] = (byte)(data.Length >> 8);
        header[3] = (byte)data.Length;
        Encoding.ASCII.GetBytes(type, header[4..]);
        output.Write(header);
        output.Write(data);
        var value = Crc32(data, Crc32(header[4..], 0xFFFFFFFFu)) ^ 0xFFFFFFFFu;
        output.Write([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }
}
