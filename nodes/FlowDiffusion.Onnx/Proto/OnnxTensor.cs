using System.Buffers.Binary;

namespace FlowDiffusion.Onnx.Proto;

/// <summary>An ONNX <c>TensorProto</c> holding its data little-endian in <c>raw_data</c>.</summary>
public sealed record OnnxTensor(string Name, TensorElementType ElementType, long[] Dims, byte[] RawData)
{
    /// <summary>Where the data lives when it is kept outside the model file (null: in <see cref="RawData"/>).</summary>
    public OnnxExternalData? External { get; private init; }

    /// <summary>A tensor whose data is stored in a separate file (ONNX external data), for models past protobuf's 2 GB limit.</summary>
    public static OnnxTensor FromExternal(string name, TensorElementType elementType, long[] dims, OnnxExternalData external) =>
        new(name, elementType, dims, []) { External = external };

    /// <summary>A float32 tensor.</summary>
    public static OnnxTensor FromFloats(string name, float[] values, params long[] dims)
    {
        CheckCount(name, values.Length, dims);
        var raw = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), values[i]);
        }

        return new OnnxTensor(name, TensorElementType.Float, dims, raw);
    }

    /// <summary>An int64 tensor.</summary>
    public static OnnxTensor FromInt64s(string name, long[] values, params long[] dims)
    {
        CheckCount(name, values.Length, dims);
        var raw = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), values[i]);
        }

        return new OnnxTensor(name, TensorElementType.Int64, dims, raw);
    }

    /// <summary>A float64 tensor.</summary>
    public static OnnxTensor FromDoubles(string name, double[] values, params long[] dims)
    {
        CheckCount(name, values.Length, dims);
        var raw = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(raw.AsSpan(i * 8), values[i]);
        }

        return new OnnxTensor(name, TensorElementType.Double, dims, raw);
    }

    internal void WriteTo(ProtobufWriter w)
    {
        foreach (var d in Dims)
        {
            w.WriteInt64(1, d);
        }

        w.WriteInt64(2, (long)ElementType);
        w.WriteString(8, Name);
        if (External is null)
        {
            w.WriteBytes(9, RawData);
            return;
        }

        foreach (var (key, value) in External.Entries())
        {
            w.WriteMessage(13, entry =>
            {
                entry.WriteString(1, key);
                entry.WriteString(2, value);
            });
        }

        w.WriteInt64(14, 1); // data_location: EXTERNAL
    }

    private static void CheckCount(string name, int count, long[] dims)
    {
        var expected = dims.Aggregate(1L, (a, d) => a * d);
        if (expected != count)
        {
            throw new ArgumentException($"Tensor '{name}' has {count} values but its shape [{string.Join(",", dims)}] holds {expected}.");
        }
    }
}
