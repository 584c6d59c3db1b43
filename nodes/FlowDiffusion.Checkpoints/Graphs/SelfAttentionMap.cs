using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// Self-attention guidance's attention map (Hong et al. 2023; ComfyUI's SelfAttentionGuidance) out of the UNet graph: for
/// the rows the optional input <c>sag_rows</c> (int64 [R], default empty) names, the output <c>sag_attention</c> [R, tokens]
/// is the attention each token of the middle block's first transformer block receives in its self-attention (attn1): the
/// softmax probabilities softmax(q·kᵀ/√d) averaged over the heads and summed over the queries, which ComfyUI thresholds
/// at 1 to find the tokens to blur. The scores are computed beside the fused attention, for the named rows only, so with no
/// rows the map costs empty tensors and the prediction is the plain graph's bit for bit.
/// </summary>
public static class SelfAttentionMap
{
    /// <summary>The row input's name.</summary>
    public const string RowsName = "sag_rows";

    /// <summary>The map output's name.</summary>
    public const string OutputName = "sag_attention";

    /// <summary>The declared rows input of one graph and the map the middle block's first self-attention gives it.</summary>
    internal sealed class Recorder(GraphBuilder g)
    {
        private readonly string _rows = g.OptionalInput(OnnxTensor.FromInt64s(RowsName, [], 0), TensorElementType.Int64, "sag_rows");
        private string? _map;

        /// <summary>Records the map of the first self-attention it is given (queries and keys [B, tokens, channels]).</summary>
        public void Record(GraphBuilder graph, string q, string k, long channels, int heads)
        {
            if (_map is not null) return;
            var width = channels / heads;
            // [R, tokens, heads, width]: Reshape's 0 copies the row and token counts, so no rows stays an empty tensor.
            string Heads(string x, params long[] perm) => graph.Transpose(graph.Reshape(graph.Gather(x, _rows), 0, 0, heads, width), perm);
            var scores = graph.Mul(graph.MatMul(Heads(q, 0, 2, 1, 3), Heads(k, 0, 2, 3, 1)), graph.Scalar((float)(1 / Math.Sqrt(width))));
            var perHead = graph.Node("ReduceMean", [graph.Softmax(scores, -1)], OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0));
            _map = graph.ReduceSum(perHead, [1], keepDims: false);
        }

        /// <summary>Declares the map as the graph output <see cref="OutputName"/>, [R, middle tokens].</summary>
        public void Output(GraphBuilder graph) =>
            graph.Output(_map ?? throw new InvalidOperationException("the UNet has no middle-block self-attention to map"), OutputName, TensorElementType.Float, "sag_rows", "middle_tokens");
    }
}
