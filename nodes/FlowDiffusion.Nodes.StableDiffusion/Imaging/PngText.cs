using System.Text;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// Reads PNG text chunks (uncompressed iTXt and tEXt) back, so a saved image's workflow can be restored;
/// <see cref="PngEncoder"/> writes them.
/// </summary>
public static class PngText
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

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

    private static int ReadLength(ReadOnlySpan<byte> png, int offset) =>
        (png[offset] << 24) | (png[offset + 1] << 16) | (png[offset + 2] << 8) | png[offset + 3];
}
