using System.Buffers.Binary;
using System.Text;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Reads a PNG's size and its text chunks (tEXt, uncompressed iTXt) straight from the file format.</summary>
internal sealed record PngChunks(int Width, int Height, IReadOnlyDictionary<string, string> Text)
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    public static PngChunks Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.AsSpan().StartsWith(Signature), $"{path} is not a PNG");
        int width = 0, height = 0;
        var text = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var offset = Signature.Length; offset + 8 <= bytes.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));
            var type = Encoding.ASCII.GetString(bytes, offset + 4, 4);
            var data = bytes.AsSpan(offset + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
            }
            var zero = data.IndexOf((byte)0);
            if (type == "tEXt" && zero > 0)
            {
                text[Encoding.Latin1.GetString(data[..zero])] = Encoding.Latin1.GetString(data[(zero + 1)..]);
            }
            else if (type == "iTXt" && zero > 0 && data[zero + 1] == 0)
            {
                // keyword \0 flag method language \0 translated keyword \0 text
                var rest = data[(zero + 3)..];
                var language = rest.IndexOf((byte)0);
                rest = rest[(language + 1)..];
                var translated = rest.IndexOf((byte)0);
                text[Encoding.Latin1.GetString(data[..zero])] = Encoding.UTF8.GetString(rest[(translated + 1)..]);
            }
            offset += 12 + length;
        }
        return new PngChunks(width, height, text);
    }
}
