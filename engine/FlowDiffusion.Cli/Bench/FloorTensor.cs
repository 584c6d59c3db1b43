using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Cli.Bench;

/// <summary>A pinned ORT tensor of the element type a model declares (float32, float16, int32 or int64), written and read as float32.</summary>
internal sealed class FloorTensor : IDisposable
{
    private readonly float[]? _floats;
    private readonly Float16[]? _halves;
    private readonly int[]? _ints;
    private readonly long[]? _longs;

    public FloorTensor(TensorElementType type, long[] shape)
    {
        var count = (int)shape.Aggregate(1L, (a, d) => a * d);
        Type = type;
        Value = type switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(_floats = new float[count], shape),
            TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(_halves = new Float16[count], shape),
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(_ints = new int[count], shape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(_longs = new long[count], shape),
            _ => throw new NotSupportedException($"the bench floor binds float32, float16, int32 and int64 tensors, not {type}"),
        };
    }

    public TensorElementType Type { get; }

    public OrtValue Value { get; }

    public void Write(ReadOnlySpan<float> values, int offset = 0)
    {
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            if (_floats is not null) _floats[offset + i] = v;
            else if (_halves is not null) _halves[offset + i] = new Float16(BitConverter.HalfToUInt16Bits((Half)v));
            else if (_ints is not null) _ints[offset + i] = (int)v;
            else _longs![offset + i] = (long)v;
        }
    }

    public void Read(Span<float> destination, int offset = 0)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = _floats is not null ? _floats[offset + i]
                : _halves is not null ? (float)BitConverter.UInt16BitsToHalf(_halves[offset + i].value)
                : throw new NotSupportedException("integer tensors are inputs only");
        }
    }

    public void Dispose() => Value.Dispose();
}
