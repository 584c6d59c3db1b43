namespace FlowDiffusion.Onnx.Proto;

/// <summary>
/// An ONNX <c>ModelProto</c> over the default domain at one opset (and ONNX Runtime's contrib domain, version 1, when a
/// node uses it); serialises without timestamps, so the bytes are reproducible.
/// </summary>
public sealed record OnnxModel(OnnxGraph Graph, long Opset, string DocString)
{
    /// <summary>ONNX Runtime's contrib operator domain (MultiHeadAttention and friends).</summary>
    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>IR version 8 is the one that goes with opset 17.</summary>
    public const long IrVersion = 8;

    /// <summary>The producer name written into every model.</summary>
    public const string ProducerName = "flowdiffusion-models";

    /// <summary>The model in protobuf wire format, as an <c>.onnx</c> file holds it.</summary>
    public byte[] ToBytes()
    {
        var w = new ProtobufWriter();
        w.WriteInt64(1, IrVersion);
        w.WriteString(2, ProducerName);
        w.WriteString(3, "1");
        w.WriteString(6, DocString);
        w.WriteMessage(7, Graph.WriteTo);
        w.WriteMessage(8, opset =>
        {
            opset.WriteString(1, string.Empty);
            opset.WriteInt64(2, Opset);
        });
        if (Graph.Nodes.Any(n => n.Domain == MicrosoftDomain))
        {
            w.WriteMessage(8, opset =>
            {
                opset.WriteString(1, MicrosoftDomain);
                opset.WriteInt64(2, 1);
            });
        }

        return w.ToArray();
    }
}
