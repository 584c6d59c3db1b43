namespace FlowDiffusion.Onnx.Proto;

/// <summary>ONNX <c>TensorProto.DataType</c> values used by the generated models.</summary>
public enum TensorElementType
{
    /// <summary>32-bit IEEE float.</summary>
    Float = 1,

    /// <summary>32-bit signed integer.</summary>
    Int32 = 6,

    /// <summary>64-bit signed integer.</summary>
    Int64 = 7,

    /// <summary>Boolean.</summary>
    Bool = 9,

    /// <summary>16-bit IEEE float.</summary>
    Float16 = 10,

    /// <summary>64-bit IEEE float.</summary>
    Double = 11,
}
