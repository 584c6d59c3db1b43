using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace FlowDiffusion.Sdk.Models;

/// <summary>
/// A weight's value: element type, shape and little-endian bytes, as a model's initializer holds it. Immutable.
/// </summary>
public sealed class WeightTensor
{
    private readonly byte[] _data;

    /// <summary>Wraps bytes already in the model's layout; the tensor takes ownership of <paramref name="data"/>.</summary>
    /// <param name="elementType">The element type.</param>
    /// <param name="shape">The dimensions; empty for a scalar.</param>
    /// <param name="data">Row-major little-endian values.</param>
    /// <exception cref="ArgumentException">The byte count does not match the shape.</exception>
    public WeightTensor(WeightElementType elementType, IReadOnlyList<long> shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        long count = 1;
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                throw new ArgumentException($"A weight's dimensions cannot be negative: [{string.Join(", ", shape)}].", nameof(shape));
            }
            count = checked(count * dim);
        }
        if (checked(count * ElementSize(elementType)) != data.LongLength)
        {
            throw new ArgumentException(
                $"A {elementType} weight of shape [{string.Join(", ", shape)}] needs {count * ElementSize(elementType)} bytes, not {data.LongLength}.",
                nameof(data));
        }
        ElementType = elementType;
        Shape = [.. shape];
        ElementCount = count;
        _data = data;
    }

    /// <summary>The element type.</summary>
    public WeightElementType ElementType { get; }

    /// <summary>The dimensions.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The number of elements.</summary>
    public long ElementCount { get; }

    /// <summary>The values as little-endian bytes.</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>A float32 weight holding a copy of <paramref name="values"/>.</summary>
    /// <param name="values">Row-major values.</param>
    /// <param name="shape">The dimensions.</param>
    public static WeightTensor FromFloats(ReadOnlySpan<float> values, params long[] shape)
    {
        var data = new byte[values.Length * sizeof(float)];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values).CopyTo(data);
        }
        else
        {
            for (var i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), values[i]);
            }
        }
        return new WeightTensor(WeightElementType.Float32, shape, data);
    }

    /// <summary>The values widened to float32 (a copy), whatever the element type.</summary>
    public float[] ToFloats()
    {
        var values = new float[ElementCount];
        var bytes = _data.AsSpan();
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ElementType switch
            {
                WeightElementType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]),
                WeightElementType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]),
                _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16),
            };
        }
        return values;
    }

    /// <summary>Bytes per element of <paramref name="type"/>.</summary>
    public static int ElementSize(WeightElementType type) => type == WeightElementType.Float32 ? 4 : 2;

    /// <summary>The shape as text, e.g. <c>float32 [320, 4, 3, 3]</c>.</summary>
    public override string ToString() => $"{ElementType.ToString().ToLowerInvariant()} [{string.Join(", ", Shape)}]";
}
