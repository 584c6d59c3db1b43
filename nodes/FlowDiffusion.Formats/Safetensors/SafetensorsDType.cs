namespace FlowDiffusion.Formats.Safetensors;

/// <summary>The element types a safetensors header may name (its <c>dtype</c> strings).</summary>
public enum SafetensorsDType
{
    /// <summary><c>BOOL</c>, one byte.</summary>
    Bool,

    /// <summary><c>U8</c>.</summary>
    UInt8,

    /// <summary><c>I8</c>.</summary>
    Int8,

    /// <summary><c>I16</c>.</summary>
    Int16,

    /// <summary><c>U16</c>.</summary>
    UInt16,

    /// <summary><c>F16</c>, IEEE half precision.</summary>
    Float16,

    /// <summary><c>BF16</c>, bfloat16 (the top half of a float32).</summary>
    BFloat16,

    /// <summary><c>I32</c>.</summary>
    Int32,

    /// <summary><c>U32</c>.</summary>
    UInt32,

    /// <summary><c>F32</c>.</summary>
    Float32,

    /// <summary><c>I64</c>.</summary>
    Int64,

    /// <summary><c>U64</c>.</summary>
    UInt64,

    /// <summary><c>F64</c>.</summary>
    Float64,

    /// <summary><c>F8_E4M3</c>, PyTorch's <c>float8_e4m3fn</c> (see <see cref="Float8"/>).</summary>
    Float8E4M3,

    /// <summary><c>F8_E5M2</c>, PyTorch's <c>float8_e5m2</c> (see <see cref="Float8"/>).</summary>
    Float8E5M2,
}
