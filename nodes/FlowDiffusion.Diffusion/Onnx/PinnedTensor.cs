using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A tensor of a model's declared element type over a pinned buffer, reused across runs of the same shape so each
/// step converts into existing memory instead of allocating.
/// </summary>
internal sealed class PinnedTensor : IDisposable
{
    private readonly float[]? _float32;
    private readonly Float16[]? _float16;
    private readonly long[]? _int64;
    private readonly int[]? _int32;

    public PinnedTensor(TensorElementType type, long[] shape)
    {
        ElementType = type;
        Shape = shape;
        var length = checked((int)shape.Aggregate(1L, (a, d) => a * d));
        var memory = OrtMemoryInfo.DefaultInstance;
        Value = type switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(memory, (_float32 = GC.AllocateArray<float>(length, pinned: true)).AsMemory(), shape),
            TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(memory, (_float16 = GC.AllocateArray<Float16>(length, pinned: true)).AsMemory(), shape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(memory, (_int64 = GC.AllocateArray<long>(length, pinned: true)).AsMemory(), shape),
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(memory, (_int32 = GC.AllocateArray<int>(length, pinned: true)).AsMemory(), shape),
            _ => throw new NotSupportedException($"Element type {DeclaredTensor.TypeName(type)} is not supported."),
        };
    }

    public TensorElementType ElementType { get; }

    public long[] Shape { get; }

    public OrtValue Value { get; }

    /// <summary>Whether this tensor has <paramref name="type"/> and <paramref name="shape"/>.</summary>
    public bool Fits(TensorElementType type, long[] shape) => ElementType == type && Shape.AsSpan().SequenceEqual(shape);

    /// <summary>Converts <paramref name="values"/> into the buffer; integer types truncate toward zero as numpy's astype does.</summary>
    public void Write(ReadOnlySpan<float> values)
    {
        if (_float32 is not null)
        {
            values.CopyTo(_float32);
        }
        else if (_float16 is not null)
        {
            TensorPrimitives.ConvertToHalf(values, MemoryMarshal.Cast<Float16, Half>(_float16.AsSpan()));
        }
        else if (_int64 is not null)
        {
            for (var i = 0; i < values.Length; i++)
            {
                _int64[i] = (long)values[i];
            }
        }
        else
        {
            for (var i = 0; i < values.Length; i++)
            {
                _int32![i] = (int)values[i];
            }
        }
    }

    /// <summary>Copies integer ids into the buffer (int32 or int64).</summary>
    public void Write(ReadOnlySpan<int> values)
    {
        if (_int32 is not null)
        {
            values.CopyTo(_int32);
        }
        else if (_int64 is not null)
        {
            for (var i = 0; i < values.Length; i++)
            {
                _int64[i] = values[i];
            }
        }
        else
        {
            throw new NotSupportedException($"Integer ids cannot be written to a {DeclaredTensor.TypeName(ElementType)} tensor.");
        }
    }

    /// <summary>Converts the buffer to float32 into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<float> destination)
    {
        if (_float32 is not null)
        {
            _float32.CopyTo(destination);
        }
        else if (_float16 is not null)
        {
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<Float16, Half>(_float16.AsSpan()), destination);
        }
        else
        {
            throw new NotSupportedException($"A {DeclaredTensor.TypeName(ElementType)} tensor is not read as float32.");
        }
    }

    /// <summary>A new tensor of the same type and shape holding a copy of this one's values.</summary>
    public PinnedTensor Copy()
    {
        var copy = new PinnedTensor(ElementType, [.. Shape]);
        _float32?.CopyTo(copy._float32!, 0);
        _float16?.CopyTo(copy._float16!, 0);
        _int64?.CopyTo(copy._int64!, 0);
        _int32?.CopyTo(copy._int32!, 0);
        return copy;
    }

    public void Dispose() => Value.Dispose();
}
