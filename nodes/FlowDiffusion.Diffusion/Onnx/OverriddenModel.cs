using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// An ONNX model's bytes with some initializers' values replaced, written before ONNX Runtime sees the graph, so
/// its optimisers (constant folding, fusions, the CPU's NCHWc layout) work on the new values. ONNX Runtime's
/// <c>SessionOptions.AddInitializer</c> is not enough: it substitutes values after optimisation, so at
/// <c>ORT_ENABLE_ALL</c> an overridden convolution weight or bias is silently ignored (measured on tiny-sd's
/// <c>conv_out.bias</c> with ONNX Runtime 1.31).
/// </summary>
internal static class OverriddenModel
{
    /// <summary>Protobuf messages may not exceed 2 GiB; this leaves room for the rest of the model.</summary>
    public const long MaxBytes = (2L << 30) - (64L << 20);

    /// <summary>
    /// Whether the model at <paramref name="file"/> with <paramref name="values"/> written inline stays within
    /// <paramref name="maxBytes"/> (protobuf's 2 GiB less room for the rest by default); when not, the overrides go to
    /// external data instead (<see cref="Float32Upcast.WriteOverridden"/>).
    /// </summary>
    public static bool Fits(OnnxModelFile file, IReadOnlyDictionary<string, WeightTensor> values, long maxBytes = MaxBytes) =>
        Fits(file, values.ToDictionary(v => v.Key, v => (long)v.Value.Data.Length), maxBytes);

    /// <summary>As <see cref="Fits(OnnxModelFile, IReadOnlyDictionary{string, WeightTensor}, long)"/>, from each override's byte count.</summary>
    public static bool Fits(OnnxModelFile file, IReadOnlyDictionary<string, long> bytes, long maxBytes = MaxBytes) =>
        new FileInfo(file.Path).Length + bytes.Values.Sum(b => b + 64) <= maxBytes;

    /// <summary>The model at <paramref name="file"/> with the initializers named in <paramref name="values"/> replaced.</summary>
    /// <exception cref="InvalidDataException">The result would exceed protobuf's 2 GiB limit (see <see cref="Fits"/>).</exception>
    public static byte[] Write(OnnxModelFile file, IReadOnlyDictionary<string, WeightTensor> values)
    {
        var original = new FileInfo(file.Path).Length;
        var added = values.Values.Sum(v => (long)v.Data.Length + 64);
        if (!Fits(file, values))
        {
            throw new InvalidDataException(
                $"Binding {values.Count} weight overrides ({added / 1048576.0:F0} MB) into '{file.Path}' would exceed ONNX's 2 GB model limit.");
        }
        var bytes = File.ReadAllBytes(file.Path);
        using var output = new MemoryStream((int)Math.Min(MaxBytes, original + added));
        var pos = 0;
        while (pos < bytes.Length)
        {
            var start = pos;
            var key = ReadVarint(bytes, ref pos);
            if (key >> 3 == 7 && (key & 7) == 2)
            {
                var length = (int)ReadVarint(bytes, ref pos);
                var graph = RewriteGraph(bytes.AsSpan(pos, length), values);
                WriteVarint(output, key);
                WriteVarint(output, (ulong)graph.Length);
                output.Write(graph);
                pos += length;
            }
            else
            {
                SkipValue(bytes, ref pos, (int)(key & 7));
                output.Write(bytes.AsSpan(start, pos - start));
            }
        }
        return output.ToArray();
    }

    private static byte[] RewriteGraph(ReadOnlySpan<byte> graph, IReadOnlyDictionary<string, WeightTensor> values)
    {
        using var output = new MemoryStream(graph.Length);
        var pos = 0;
        var array = graph.ToArray();
        while (pos < array.Length)
        {
            var start = pos;
            var key = ReadVarint(array, ref pos);
            SkipValue(array, ref pos, (int)(key & 7));
            if (key >> 3 == 5 && (key & 7) == 2)
            {
                var bodyStart = start + VarintLength(key);
                var length = (int)ReadVarint(array, ref bodyStart);
                var name = TensorName(array.AsSpan(bodyStart, length));
                if (name is not null && values.TryGetValue(name, out var value))
                {
                    var tensor = Tensor(name, value);
                    WriteVarint(output, key);
                    WriteVarint(output, (ulong)tensor.Length);
                    output.Write(tensor);
                    continue;
                }
            }
            output.Write(array.AsSpan(start, pos - start));
        }
        return output.ToArray();
    }

    private static string? TensorName(ReadOnlySpan<byte> tensor)
    {
        var array = tensor.ToArray();
        var pos = 0;
        while (pos < array.Length)
        {
            var key = ReadVarint(array, ref pos);
            if (key >> 3 == 8 && (key & 7) == 2)
            {
                var length = (int)ReadVarint(array, ref pos);
                return System.Text.Encoding.UTF8.GetString(array, pos, length);
            }
            SkipValue(array, ref pos, (int)(key & 7));
        }
        return null;
    }

    private static byte[] Tensor(string name, WeightTensor value)
    {
        using var w = new MemoryStream(value.Data.Length + 64);
        foreach (var dim in value.Shape)
        {
            WriteVarint(w, 1 << 3);
            WriteVarint(w, (ulong)dim);
        }
        WriteVarint(w, 2 << 3);
        WriteVarint(w, value.ElementType switch
        {
            WeightElementType.Float32 => 1UL,
            WeightElementType.Float16 => 10UL,
            _ => 16UL,
        });
        var nameBytes = System.Text.Encoding.UTF8.GetBytes(name);
        WriteVarint(w, (8 << 3) | 2);
        WriteVarint(w, (ulong)nameBytes.Length);
        w.Write(nameBytes);
        WriteVarint(w, (9 << 3) | 2);
        WriteVarint(w, (ulong)value.Data.Length);
        w.Write(value.Data.Span);
        return w.ToArray();
    }

    private static ulong ReadVarint(byte[] bytes, ref int pos)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (pos >= bytes.Length)
            {
                throw new InvalidDataException("A varint runs past the end of the model.");
            }
            var b = bytes[pos++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw new InvalidDataException("A varint longer than 10 bytes.");
    }

    private static void SkipValue(byte[] bytes, ref int pos, int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(bytes, ref pos); break;
            case 1: pos += 8; break;
            case 2:
                var length = checked((int)ReadVarint(bytes, ref pos));
                pos += length;
                break;
            case 5: pos += 4; break;
            default: throw new InvalidDataException($"Wire type {wireType} in the model.");
        }
        if (pos > bytes.Length)
        {
            throw new InvalidDataException("A field runs past the end of the model.");
        }
    }

    private static int VarintLength(ulong value)
    {
        var length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }
        return length;
    }

    private static void WriteVarint(Stream stream, ulong value) => ProtobufVarint.Write(stream, value);

    private static void WriteVarint(Stream stream, int value) => WriteVarint(stream, (ulong)value);
}
