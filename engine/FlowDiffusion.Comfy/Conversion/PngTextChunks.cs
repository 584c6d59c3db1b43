using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>Reads the text chunks of a PNG (tEXt, zTXt, iTXt) — where ComfyUI stores <c>prompt</c> and <c>workflow</c>.</summary>
internal static class PngTextChunks
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Whether the bytes start like a PNG.</summary>
    public static bool IsPng(ReadOnlySpan<byte> bytes) => bytes.StartsWith(Signature);

    /// <summary>The text chunks by keyword (the first of each); bounded by the file's own size.</summary>
    public static Dictionary<string, string> Read(byte[] png)
    {
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        var offset = Signature.Length;
        while (offset + 12 <= png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            if (length < 0 || offset + 12L + length > png.Length) break;
            var type = Encoding.ASCII.GetString(png, offset + 4, 4);
            var data = png.AsSpan(offset + 8, length);
            offset += 12 + length;
            if (type == "IEND") break;
            var zero = data.IndexOf((byte)0);
            if (zero <= 0) continue;
            var keyword = Encoding.Latin1.GetString(data[..zero]);
            var rest = data[(zero + 1)..];
            string? text = type switch
            {
                "tEXt" => Encoding.Latin1.GetString(rest),
                "zTXt" when rest.Length > 1 => Inflate(rest[1..].ToArray()),
                "iTXt" => International(rest),
                _ => null,
            };
            if (text is not null) texts.TryAdd(keyword, text);
        }

        return texts;
    }

    private static string? International(ReadOnlySpan<byte> rest)
    {
        if (rest.Length < 2) return null;
        var compressed = rest[0] == 1;
        rest = rest[2..];
        for (var skip = 0; skip < 2; skip++)
        {
            var zero = rest.IndexOf((byte)0);
            if (zero < 0) return null;
            rest = rest[(zero + 1)..]; // language tag, then translated keyword
        }

        return compressed ? Inflate(rest.ToArray()) : Encoding.UTF8.GetString(rest);
    }

    private static string? Inflate(byte[] data)
    {
        try
        {
            using var input = new ZLibStream(new MemoryStream(data), CompressionMode.Decompress);
            using var reader = new StreamReader(input, Encoding.UTF8);
            var buffer = new char[16 << 20];
            var read = reader.ReadBlock(buffer, 0, buffer.Length); // at most 16 M characters: a bomb stops here
            return new string(buffer, 0, read);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }
}
