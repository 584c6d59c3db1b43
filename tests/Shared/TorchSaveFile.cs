using System.IO.Compression;
using System.Text;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// Writes a state dict as torch.save does (a ZIP of <c>archive/data.pkl</c>, one storage per tensor under
/// <c>archive/data/</c>, <c>byteorder</c> and <c>version</c>), for tests that need a published <c>.pth</c>'s layout
/// without carrying the file; and the deterministic values tools/reference's make_*.py scripts share.
/// </summary>
public static class TorchSaveFile
{
    /// <summary>Writes <paramref name="tensors"/> (name, shape, storage class such as HalfStorage or FloatStorage, element count, little-endian bytes) to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<(string Name, long[] Shape, string Storage, long Count, byte[] Data)> tensors)
    {
        using var stream = File.Create(path);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
        var pickle = new List<byte> { 0x80, 0x02, (byte)'}', (byte)'(' };
        var key = 0;
        foreach (var (name, shape, storageClass, count, data) in tensors)
        {
            var storage = key++.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Unicode(pickle, name);
            Global(pickle, "torch._utils", "_rebuild_tensor_v2");
            pickle.Add((byte)'(');
            pickle.Add((byte)'(');
            Unicode(pickle, "storage");
            Global(pickle, "torch", storageClass);
            Unicode(pickle, storage);
            Unicode(pickle, "cpu");
            Int(pickle, (int)count);
            pickle.AddRange([(byte)'t', (byte)'Q']);
            Int(pickle, 0);
            pickle.Add((byte)'(');
            foreach (var d in shape) Int(pickle, (int)d);
            pickle.Add((byte)'t');
            pickle.Add((byte)'(');
            var stride = 1L;
            var strides = new long[shape.Length];
            for (var i = shape.Length - 1; i >= 0; i--)
            {
                strides[i] = stride;
                stride *= shape[i];
            }

            foreach (var s in strides) Int(pickle, (int)s);
            pickle.Add((byte)'t');
            pickle.Add(0x89);
            Global(pickle, "collections", "OrderedDict");
            pickle.AddRange([(byte)')', (byte)'R', (byte)'t', (byte)'R']);
            Entry(zip, $"archive/data/{storage}", data);
        }

        pickle.AddRange([(byte)'u', (byte)'.']);
        Entry(zip, "archive/data.pkl", [.. pickle]);
        Entry(zip, "archive/byteorder", "little"u8.ToArray());
        Entry(zip, "archive/version", "3\n"u8.ToArray());
    }

    /// <summary>make_hed.py's hashed(): murmur3's finaliser of (i · 2654435761 + (t + 1) · 0x9E3779B9), its top 11 bits centred, × 2^-e (exact in float16).</summary>
    public static double[] Hashed(int t, int count, int exponent)
    {
        var values = new double[count];
        var seed = unchecked((uint)(t + 1) * 0x9E3779B9u);
        var scale = Math.Pow(2, -exponent);
        for (var i = 0; i < count; i++)
        {
            var h = unchecked((uint)i * 2654435761u + seed);
            h ^= h >> 16;
            h = unchecked(h * 0x85EBCA6Bu);
            h ^= h >> 13;
            h = unchecked(h * 0xC2B2AE35u);
            h ^= h >> 16;
            values[i] = ((int)(h >> 21) - 1024) / 1024.0 * scale;
        }

        return values;
    }

    /// <summary>Writes the file once to <paramref name="path"/> through a staging name, so parallel tests never read a half-written file.</summary>
    public static string WriteOnce(string path, Action<string> write, Lock gate)
    {
        lock (gate)
        {
            if (!File.Exists(path))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var staging = path + "." + Guid.NewGuid().ToString("N")[..8];
                write(staging);
                try
                {
                    File.Move(staging, path);
                }
                catch (IOException) when (File.Exists(path))
                {
                    File.Delete(staging);
                }
            }
        }

        return path;
    }

    private static void Entry(ZipArchive zip, string name, byte[] data)
    {
        using var entry = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        entry.Write(data);
    }

    private static void Unicode(List<byte> pickle, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        pickle.Add((byte)'X');
        pickle.AddRange(BitConverter.GetBytes(bytes.Length));
        pickle.AddRange(bytes);
    }

    private static void Global(List<byte> pickle, string module, string name) =>
        pickle.AddRange([(byte)'c', .. Encoding.ASCII.GetBytes($"{module}\n{name}\n")]);

    private static void Int(List<byte> pickle, int value)
    {
        pickle.Add((byte)'J');
        pickle.AddRange(BitConverter.GetBytes(value));
    }
}
