using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// A state dict as torch.save writes it: a ZIP of <c>archive/data.pkl</c> (an OrderedDict of <c>_rebuild_tensor_v2</c>
/// calls) and one float16 storage per tensor — the layout of the published .pth files the tests stand in for.
/// </summary>
public static class TorchFile
{
    /// <summary>Writes <paramref name="tensors"/> (contiguous, float16) to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<(string Name, long[] Shape, Half[] Values)> tensors)
    {
        using var stream = File.Create(path);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
        var pickle = new List<byte> { 0x80, 0x02, (byte)'}', (byte)'(' };
        var key = 0;
        foreach (var (name, shape, values) in tensors)
        {
            var storage = key++.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Unicode(pickle, name);
            Global(pickle, "torch._utils", "_rebuild_tensor_v2");
            pickle.Add((byte)'(');
            pickle.Add((byte)'(');
            Unicode(pickle, "storage");
            Global(pickle, "torch", "HalfStorage");
            Unicode(pickle, storage);
            Unicode(pickle, "cpu");
            Int(pickle, values.Length);
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
            var bytes = new byte[2 * values.Length];
            for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), values[i]);
            Entry(zip, $"archive/data/{storage}", bytes);
        }

        pickle.AddRange([(byte)'u', (byte)'.']);
        Entry(zip, "archive/data.pkl", [.. pickle]);
        Entry(zip, "archive/byteorder", "little"u8.ToArray());
        Entry(zip, "archive/version", "3\n"u8.ToArray());
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
