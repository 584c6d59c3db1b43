namespace FlowDiffusion.Onnx.Proto;

/// <summary>One dimension of a declared input or output: a fixed size or a symbolic name (dynamic).</summary>
public readonly record struct OnnxDim(long Value, string? Param)
{
    /// <summary>A fixed dimension.</summary>
    public static implicit operator OnnxDim(long value) => new(value, null);

    /// <summary>A dynamic dimension named <paramref name="param"/> (ONNX <c>dim_param</c>).</summary>
    public static implicit operator OnnxDim(string param) => new(0, param);

    internal void WriteTo(ProtobufWriter w)
    {
        if (Param is null)
        {
            w.WriteInt64(1, Value);
        }
        else
        {
            w.WriteString(2, Param);
        }
    }
}
