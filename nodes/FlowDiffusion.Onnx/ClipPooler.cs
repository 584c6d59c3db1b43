using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Onnx;

/// <summary>
/// CLIP's pooled output: the hidden state at the first position holding the largest id of the vocabulary (the end-of-text
/// token). Ids past the vocabulary — textual-inversion vectors appended to the token table — are not the end of the text.
/// </summary>
public static class ClipPooler
{
    /// <summary>
    /// Adds the pooling at the largest id (no vocabulary bound: for graphs that never see appended ids, such as the generated
    /// test models, whose committed files stay as they were built) and returns the pooled value, [batch, <paramref name="width"/>].
    /// </summary>
    public static string Pool(GraphBuilder g, string inputIds, string hidden, long width) => Pick(g, g.Cast(inputIds, TensorElementType.Float), hidden, width);

    /// <summary>Adds the pooling to <paramref name="g"/> and returns the pooled value, [batch, <paramref name="width"/>].</summary>
    /// <param name="g">The graph.</param>
    /// <param name="inputIds">The token ids, [batch, sequence].</param>
    /// <param name="hidden">The final-normed hidden states, [batch, sequence, width].</param>
    /// <param name="width">The hidden width.</param>
    /// <param name="vocabulary">The token table's rows in the checkpoint: ids from here on count as 0.</param>
    public static string Pool(GraphBuilder g, string inputIds, string hidden, long width, long vocabulary)
    {
        // Ids are below 2^24, so float32 compares them exactly; ArgMax keeps the first maximum.
        var ids = g.Cast(inputIds, TensorElementType.Float);
        return Pick(g, g.Node("Where", [g.Node("Less", [ids, g.Scalar(vocabulary)]), ids, g.Scalar(0)]), hidden, width);
    }

    private static string Pick(GraphBuilder g, string ids, string hidden, long width)
    {
        var position = g.Node("ArgMax", [ids], OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 1));
        var index = g.Node("Expand", [g.Unsqueeze(position, 2), g.Int64s(1, 1, width)]);
        var picked = g.Node("GatherElements", [hidden, index], OnnxAttribute.Int("axis", 1));
        return g.Squeeze(picked, 1);
    }
}
