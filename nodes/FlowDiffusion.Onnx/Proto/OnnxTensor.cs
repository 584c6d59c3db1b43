using System.Buffers.Binary;

namespace FlowDiffusion.Onnx.Proto;

/// <summary>An ONNX <c>TensorProto</c> holding its data little-endian in <c>raw_data</c>.</summary>
public sealed record OnnxTensor(string Name, TensorElementType ElementType, long[] Dims, byte[] RawData)
{
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

    internal void WriteTo(ProtobufWriter w)
    {
        foreach (var d in Dims)
        {
            w.WriteInt64(1, d);
        }

        w.WriteInt64(2, (long)ElementType);
        w.WriteString(8, Name);
        w.WriteBytes(9, RawData);
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
