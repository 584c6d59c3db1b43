namespace FlowDiffusion.Onnx.Proto;

/// <summary>An ONNX <c>GraphProto</c>: nodes in topological order, initializers, inputs and outputs.</summary>
public sealed record OnnxGraph(
    string Name,
    IReadOnlyList<OnnxNode> Nodes,
    IReadOnlyList<OnnxTensor> Initializers,
    IReadOnlyList<OnnxValueInfo> Inputs,
    IReadOnlyList<OnnxValueInfo> Outputs)
{
    internal void WriteTo(ProtobufWriter w)
    {
        foreach (var node in Nodes)
        {
            w.WriteMessage(1, node.WriteTo);
        }

        w.WriteString(2, Name);
        foreach (var initializer in Initializers)
        {
            w.WriteMessage(5, initializer.WriteTo);
        }

        foreach (var input in Inputs)
        {
            w.WriteMessage(11, input.WriteTo);
        }

        foreach (var output in Outputs)
        {
            w.WriteMessage(12, output.WriteTo);
        }
    }
}
