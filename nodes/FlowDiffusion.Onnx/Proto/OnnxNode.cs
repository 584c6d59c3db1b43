namespace FlowDiffusion.Onnx.Proto;

/// <summary>An ONNX <c>NodeProto</c>; an empty input name means "omitted".</summary>
/// <param name="Name">The node's unique name.</param>
/// <param name="OpType">The operator.</param>
/// <param name="Inputs">Input value names.</param>
/// <param name="Outputs">Output value names.</param>
/// <param name="Attributes">The operator's attributes.</param>
/// <param name="Domain">The operator set: empty for ONNX's default domain, <see cref="OnnxModel.MicrosoftDomain"/> for ONNX Runtime's contrib operators.</param>
public sealed record OnnxNode(string Name, string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, IReadOnlyList<OnnxAttribute> Attributes, string Domain = "")
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

        if (Domain.Length > 0)
        {
            w.WriteString(7, Domain);
        }
    }
}
