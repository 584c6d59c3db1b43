namespace FlowDiffusion.Onnx.Proto;

/// <summary>An ONNX <c>AttributeProto</c> of one of the kinds the generated graphs use.</summary>
public sealed record OnnxAttribute
{
    private const int KindFloat = 1;
    private const int KindInt = 2;
    private const int KindString = 3;
    private const int KindTensor = 4;
    private const int KindGraph = 5;
    private const int KindInts = 7;

    private OnnxAttribute(string name, int kind)
    {
        Name = name;
        Kind = kind;
    }

    /// <summary>The attribute name, e.g. <c>axis</c>.</summary>
    public string Name { get; }

    private int Kind { get; }

    private float FloatValue { get; init; }

    private long IntValue { get; init; }

    private string? StringValue { get; init; }

    private OnnxTensor? TensorValue { get; init; }

    private long[]? IntsValue { get; init; }

    private OnnxGraph? GraphValue { get; init; }

    /// <summary>A float attribute.</summary>
    public static OnnxAttribute Float(string name, float value) => new(name, KindFloat) { FloatValue = value };

    /// <summary>An integer attribute.</summary>
    public static OnnxAttribute Int(string name, long value) => new(name, KindInt) { IntValue = value };

    /// <summary>A string attribute.</summary>
    public static OnnxAttribute String(string name, string value) => new(name, KindString) { StringValue = value };

    /// <summary>A tensor attribute (for <c>Constant</c>).</summary>
    public static OnnxAttribute Tensor(string name, OnnxTensor value) => new(name, KindTensor) { TensorValue = value };

    /// <summary>A graph attribute (an <c>If</c> node's branches).</summary>
    public static OnnxAttribute Graph(string name, OnnxGraph value) => new(name, KindGraph) { GraphValue = value };

    /// <summary>A list-of-integers attribute.</summary>
    public static OnnxAttribute Ints(string name, params long[] values) => new(name, KindInts) { IntsValue = values };

    internal void WriteTo(ProtobufWriter w)
    {
        w.WriteString(1, Name);
        switch (Kind)
        {
            case KindFloat:
                w.WriteFloat(2, FloatValue);
                break;
            case KindInt:
                w.WriteInt64(3, IntValue);
                break;
            case KindString:
                w.WriteString(4, StringValue!);
                break;
            case KindTensor:
                w.WriteMessage(5, TensorValue!.WriteTo);
                break;
            case KindGraph:
                w.WriteMessage(6, GraphValue!.WriteTo);
                break;
            case KindInts:
                foreach (var v in IntsValue!)
                {
                    w.WriteInt64(8, v);
                }

                break;
        }

        w.WriteInt64(20, Kind);
    }
}
