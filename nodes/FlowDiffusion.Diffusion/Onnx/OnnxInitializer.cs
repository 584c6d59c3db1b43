using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>Where one initializer of an ONNX file keeps its values.</summary>
/// <param name="Name">The initializer name.</param>
/// <param name="DataType">ONNX's <c>TensorProto.DataType</c> number (1 float, 10 float16, 16 bfloat16, 7 int64 …).</param>
/// <param name="Shape">The dimensions.</param>
/// <param name="File">The file holding the values: the model itself, or an external data file.</param>
/// <param name="Offset">Where the values start in <paramref name="File"/>.</param>
/// <param name="Length">The number of bytes, or -1 when they are stored as typed protobuf fields rather than raw bytes.</param>
/// <param name="Encoding">The protobuf field holding the values when they are not raw bytes (4 float_data, 5 int32_data).</param>
public sealed record OnnxInitializer(string Name, int DataType, IReadOnlyList<long> Shape, string File, long Offset, long Length, int Encoding = 0)
{
    /// <summary>The override element type this initializer has, or null for types overrides cannot carry.</summary>
    public WeightElementType? ElementType => DataType switch
    {
        1 => WeightElementType.Float32,
        10 => WeightElementType.Float16,
        16 => WeightElementType.BFloat16,
        _ => null,
    };

    /// <summary>The number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>The initializer as a <see cref="WeightInfo"/>.</summary>
    public WeightInfo Info => new(Name, ElementType, Shape);
}
