using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// Perturbed-attention guidance's perturbed UNet (Ahn et al. 2024; ComfyUI's PerturbedAttentionGuidance) inside the UNet
/// graph: the self-attention of every transformer block of the middle block is replaced, for the rows the optional input
/// <c>pag_mask</c> (float32 [B] or [1], default 0) marks, by its value projection (softmax replaced by the identity, so
/// the block's self-attention output is <c>to_out(to_v(x))</c>). A row's mask m mixes the two before <c>to_out</c>:
/// a + m·(v − a), which equals (1 − m)·to_out(a) + m·to_out(v) because <c>to_out</c> is affine. Mask 0 gives the plain
/// UNet exactly (a + 0·(v − a) = a), mask 1 the perturbed one, so one batch can carry the unconditional, conditional
/// and perturbed conditional rows.
/// </summary>
public static class PerturbedAttention
{
    /// <summary>The mask input's name.</summary>
    public const string MaskName = "pag_mask";

    /// <summary>The declared mask input of one graph, reshaped once to [B, 1, 1] to scale a row of [B, tokens, channels].</summary>
    internal sealed class Input(GraphBuilder g)
    {
        // Its own dimension name: the default [1] broadcasts over any batch, so it is not tied to the sample's.
        private readonly string _rows = g.Reshape(g.OptionalInput(OnnxTensor.FromFloats(MaskName, [0f], 1), TensorElementType.Float, "pag_rows"), -1, 1, 1);

        /// <summary>The self-attention output <paramref name="attended"/> moved toward the value projection <paramref name="value"/> by the row's mask.</summary>
        public string Mix(GraphBuilder graph, string attended, string value) => graph.Add(attended, graph.Mul(_rows, graph.Sub(value, attended)));
    }
}
