using System.Buffers.Binary;
using System.Text;

namespace FlowDiffusion.Formats.Tests;

/// <summary>The committed test files (written by tools/reference/make_safetensors_samples.py with torch) and scratch files built from a header text.</summary>
internal static class TestFiles
{
    public static string Data(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", name);

    /// <summary>A safetensors file image: the 8-byte length, <paramref name="headerJson"/>, then <paramref name="dataLength"/> zero bytes.</summary>
    public static byte[] Build(string headerJson, int dataLength)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        return bytes;
    }

    /// <summary>Writes <paramref name="bytes"/> to a fresh temp file and returns its path.</summary>
    public static string Write(byte[] bytes, string extension = ".safetensors")
    {
        var path = Path.Combine(Path.GetTempPath(), "flowdiffusion-formats-" + Guid.NewGuid().ToString("N") + extension);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
