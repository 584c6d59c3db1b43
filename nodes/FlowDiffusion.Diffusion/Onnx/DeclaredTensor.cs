using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>An input or output as a model declares it.</summary>
/// <param name="Name">The tensor name.</param>
/// <param name="ElementType">The declared element type.</param>
/// <param name="Dimensions">The declared dimensions; -1 where the dimension is dynamic.</param>
/// <param name="SymbolicDimensions">The names of dynamic dimensions (empty where fixed).</param>
internal sealed record DeclaredTensor(string Name, TensorElementType ElementType, int[] Dimensions, string[] SymbolicDimensions)
{
    /// <summary>The number of dimensions.</summary>
    public int Rank => Dimensions.Length;

    /// <summary>The fixed size of dimension <paramref name="axis"/>, or null where it is dynamic.</summary>
    public int? Fixed(int axis) => axis < Rank && Dimensions[axis] > 0 ? Dimensions[axis] : null;

    /// <summary>ONNX's name for an element type: float32, float16, int64 …</summary>
    public static string TypeName(TensorElementType type) => type switch
    {
        TensorElementType.Float => "float32",
        TensorElementType.Float16 => "float16",
        TensorElementType.BFloat16 => "bfloat16",
        TensorElementType.Double => "float64",
        TensorElementType.Int64 => "int64",
        TensorElementType.Int32 => "int32",
        _ => type.ToString().ToLowerInvariant(),
    };

    /// <inheritdoc />
    public override string ToString()
    {
        var dims = Dimensions.Select((d, i) => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : string.IsNullOrEmpty(SymbolicDimensions.ElementAtOrDefault(i)) ? "?" : SymbolicDimensions[i]);
        return $"{Name} {TypeName(ElementType)} [{string.Join(", ", dims)}]";
    }
}
