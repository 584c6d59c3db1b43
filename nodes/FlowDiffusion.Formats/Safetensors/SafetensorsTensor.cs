namespace FlowDiffusion.Formats.Safetensors;

/// <summary>One tensor's header entry, validated: its data lies inside the file and its byte length matches its shape.</summary>
/// <param name="Name">The tensor's key in the header.</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The dimensions (empty for a scalar).</param>
/// <param name="Offset">Where the data starts, in bytes from the start of the file.</param>
/// <param name="ByteLength">The data's length in bytes.</param>
public sealed record SafetensorsTensor(string Name, SafetensorsDType DType, long[] Shape, long Offset, long ByteLength)
{
    /// <summary>The number of elements (the product of <see cref="Shape"/>).</summary>
    public long ElementCount => ByteLength / SafetensorsDTypes.Size(DType);

    /// <summary>The shape as <c>[a,b,c]</c>, for messages.</summary>
    public string ShapeText => "[" + string.Join(",", Shape) + "]";
}
