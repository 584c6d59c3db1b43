namespace FlowDiffusion.Sdk.Models;

/// <summary>The element types a weight override may carry.</summary>
public enum WeightElementType
{
    /// <summary>IEEE 754 single precision, 4 bytes.</summary>
    Float32,

    /// <summary>IEEE 754 half precision, 2 bytes.</summary>
    Float16,

    /// <summary>Brain floating point (the upper half of a float32), 2 bytes.</summary>
    BFloat16,
}
