namespace FlowDiffusion.Onnx.Proto;

/// <summary>An ONNX <c>ValueInfoProto</c>: a graph input or output with its element type and (partly symbolic) shape.</summary>
/// <remarks>An element type of 0 writes the name alone, leaving ONNX Runtime to infer the type (a branch's output).</remarks>
public sealed record OnnxValueInfo(string Name, TensorElementType ElementType, IReadOnlyList<OnnxDim> Shape)
{
    /// <summary>A value whose type and shape ONNX Runtime infers: an <c>If</c> branch's output, float32 or float16 as its input is.</summary>
    public static OnnxValueInfo Inferred(string name) => new(name, 0, []);

    internal void WriteTo(ProtobufWriter w)
    {
        w.WriteString(1, Name);
        if (ElementType == 0)
        {
            return;
        }

        // TypeProto.tensor_type { elem_type, shape { dim* } }
        w.WriteMessage(2, type => type.WriteMessage(1, tensor =>
        {
            tensor.WriteInt64(1, (long)ElementType);
            tensor.WriteMessage(2, shape =>
            {
                foreach (var dim in Shape)
                {
                    shape.WriteMessage(1, dim.WriteTo);
                }
            });
        }));
    }
}
