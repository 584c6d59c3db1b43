using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Onnx;

/// <summary>CLIP's pooled output: the hidden state at the first position holding the largest id (the end-of-text token).</summary>
public static class ClipPooler
{
    /// <summary>Adds the pooling to <paramref name="g"/> and returns the pooled value, [batch, <paramref name="width"/>].</summary>
    public static string Pool(GraphBuilder g, string inputIds, string hidden, long width)
    {
        // Ids are below 2^24, so float32 compares them exactly; ArgMax keeps the first maximum.
        var position = g.Node("ArgMax", [g.Cast(inputIds, TensorElementType.Float)], OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 1));
        var index = g.Node("Expand", [g.Unsqueeze(position, 2), g.Int64s(1, 1, width)]);
        var picked = g.Node("GatherElements", [hidden, index], OnnxAttribute.Int("axis", 1));
        return g.Squeeze(picked, 1);
    }
}
