namespace FlowDiffusion.Onnx.Proto;

/// <summary>An ONNX <c>ValueInfoProto</c>: a graph input or output with its element type and (partly symbolic) shape.</summary>
public sealed record OnnxValueInfo(string Name, TensorElementType ElementType, IReadOnlyList<OnnxDim> Shape)
{
    internal void WriteTo(ProtobufWriter w)
    {
        w.WriteString(1, Name);
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
