namespace FlowDiffusion.Onnx.Proto;

/// <summary>An ONNX <c>NodeProto</c> in the default operator domain; an empty input name means "omitted".</summary>
public sealed record OnnxNode(string Name, string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, IReadOnlyList<OnnxAttribute> Attributes)
{
    internal void WriteTo(ProtobufWriter w)
    {
        foreach (var input in Inputs)
        {
            w.WriteString(1, input);
        }

        foreach (var output in Outputs)
        {
            w.WriteString(2, output);
        }

        w.WriteString(3, Name);
        w.WriteString(4, OpType);
        foreach (var attribute in Attributes)
        {
            w.WriteMessage(5, attribute.WriteTo);
        }
    }
}
