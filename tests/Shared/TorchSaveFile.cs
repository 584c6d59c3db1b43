using System.IO.Compression;
using System.Text;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// A state dict as <c>torch.save</c> writes it: a ZIP of <c>archive/data.pkl</c> (an ordered dictionary of tensors, each
/// rebuilt by <c>torch._utils._rebuild_tensor_v2</c> from its own contiguous storage), one storage entry per tensor,
/// <c>byteorder</c> and <c>version</c>. For the annotator weights the tests write in the published layout.
/// </summary>
public static class TorchSaveFile
{
    /// <summary>One tensor: its name, shape, torch storage class (<c>HalfStorage</c>, <c>FloatStorage</c>) and little-endian bytes.</summary>
    public sealed record Tensor(string Name, long[] Shape, string Storage, byte[] Data);

    /// <summary>Writes float16 <paramref name="tensors"/>, in order, to <paramref name="path"/>, under the key <paramref name="outer"/> when given.</summary>
    public static void Write(string path, IEnumerable<(string Name, long[] Shape, Half[] Values)> tensors, string? outer = null) =>
        Write(path, tensors.Select(t => new Tensor(t.Name, t.Shape, "HalfStorage", HalfBytes(t.Values))), outer);

    /// <summary>
    /// Writes <paramref name="tensors"/>, in order, to <paramref name="path"/>, inside an outer dictionary under the key
    /// <paramref name="outer"/> when given (<c>{"state_dict": {...}}</c>, as training checkpoints hold it).
    /// </summary>
    public static void Write(string path, IEnumerable<Tensor> tensors, string? outer = null)
    {
        using var stream = File.Create(path);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
        var pickle = new List<byte> { 0x80, 0x02, (byte)'}' };
        if (outer is not null)
        {
            Unicode(pickle, outer);
            pickle.Add((byte)'}');
        }

        pickle.Add((byte)'(');
        var key = 0;
        foreach (var tensor in tensors)
        {
            var storage = key++.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var elements = tensor.Shape.Aggregate(1L, (a, b) => a * b);
            Unicode(pickle, tensor.Name);
            Global(pickle, "torch._utils", "_rebuild_tensor_v2");
            pickle.Add((byte)'(');
            pickle.Add((byte)'(');
            Unicode(pickle, "storage");
            Global(pickle, "torch", tensor.Storage);
            Unicode(pickle, storage);
            Unicode(pickle, "cpu");
            Int(pickle, (int)elements);
            pickle.AddRange([(byte)'t', (byte)'Q']);
            Int(pickle, 0);
            pickle.Add((byte)'(');
            foreach (var d in tensor.Shape) Int(pickle, (int)d);
            pickle.Add((byte)'t');
            pickle.Add((byte)'(');
            var stride = 1L;
            var strides = new long[tensor.Shape.Length];
            for (var i = tensor.Shape.Length - 1; i >= 0; i--)
            {
                strides[i] = stride;
                stride *= tensor.Shape[i];
            }

            foreach (var s in strides) Int(pickle, (int)s);
            pickle.Add((byte)'t');
            pickle.Add(0x89);
            Global(pickle, "collections", "OrderedDict");
            pickle.AddRange([(byte)')', (byte)'R', (byte)'t', (byte)'R']);
            Entry(zip, $"archive/data/{storage}", tensor.Data);
        }

        pickle.Add((byte)'u');
        if (outer is not null) pickle.Add((byte)'s');
        pickle.Add((byte)'.');
        Entry(zip, "archive/data.pkl", [.. pickle]);
        Entry(zip, "archive/byteorder", "little"u8.ToArray());
        Entry(zip, "archive/version", "3\n"u8.ToArray());
    }

    /// <summary>Writes <paramref name="path"/> by <paramref name="write"/> unless it is there, through a staging file so another process never reads half of it.</summary>
    public static void WriteOnce(string path, Action<string> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (File.Exists(path)) return;
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

    /// <summary>make_hed.py's hashed(): murmur3's finaliser of (i · 2654435761 + (t + 1) · 0x9E3779B9), its top 11 bits centred, × 2^-e (exact in float16).</summary>
    public static Half[] Hashed(int t, int count, int exponent)
    {
        var values = new Half[count];
        var seed = unchecked((uint)(t + 1) * 0x9E3779B9u);
        for (var i = 0; i < count; i++)
        {
            var h = unchecked((uint)i * 2654435761u + seed);
            h ^= h >> 16;
            h = unchecked(h * 0x85EBCA6Bu);
            h ^= h >> 13;
            h = unchecked(h * 0xC2B2AE35u);
            h ^= h >> 16;
            values[i] = (Half)(((int)(h >> 21) - 1024) / 1024.0 * Math.Pow(2, -exponent));
        }

        return values;
    }

    /// <summary>The values as float16 storage bytes.</summary>
    public static byte[] HalfBytes(Half[] values)
    {
        var bytes = new byte[2 * values.Length];
        for (var i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), values[i]);
        return bytes;
    }

    /// <summary>The values as float32 storage bytes.</summary>
    public static byte[] FloatBytes(Half[] values)
    {
        var bytes = new byte[4 * values.Length];
        for (var i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), (float)values[i]);
        return bytes;
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
