using FlowDiffusion.Checkpoints.IpAdapter;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// An IP-Adapter's image side as ONNX: <c>image_embeds</c> [batch, embedding] → <c>ip_tokens</c> [batch, N, context]
/// (<c>image_proj.proj</c> reshaped to N tokens, then <c>image_proj.norm</c>) and, for each cross-attention layer n in
/// the adapter's order, its decoupled keys and values <c>ip_key_n</c> / <c>ip_value_n</c> [batch, N, channels] (the
/// tokens through <c>to_k_ip</c> / <c>to_v_ip</c>): the inputs of the IP-adapted UNet (<see cref="IpAdapterLayers"/>).
/// </summary>
public static class IpAdapterGraph
{
    /// <summary>The input.</summary>
    public const string ImageEmbeds = "image_embeds";

    /// <summary>The tokens output.</summary>
    public const string Tokens = "ip_tokens";

    /// <summary>Builds the graph with the adapter's tensors as initializers, embedded unless <paramref name="binding"/> says otherwise.</summary>
    public static OnnxModel Build(IpAdapterCheckpoint adapter, WeightBinding? binding = null)
    {
        var arch = adapter.Architecture;
        var g = new GraphBuilder("ip_adapter");
        var n = new NetworkGraph(g, adapter.Tensors, adapter.Source, binding ?? WeightBinding.Embedded);
        var embeds = g.Input(ImageEmbeds, TensorElementType.Float, "batch", arch.EmbeddingWidth);
        var tokens = g.Reshape(n.Linear(embeds, IpAdapterCheckpoint.ProjectionPrefix + "proj"), 0, arch.Tokens, arch.ContextWidth);
        tokens = n.LayerNorm(tokens, IpAdapterCheckpoint.ProjectionPrefix + "norm");
        g.Output(tokens, Tokens, TensorElementType.Float, "batch", arch.Tokens, arch.ContextWidth);
        for (var layer = 0; layer < adapter.ProcessorIndices.Count; layer++)
        {
            var index = adapter.ProcessorIndices[layer];
            var channels = arch.LayerChannels[layer];
            g.Output(g.MatMul(tokens, g.Transpose(n.W(IpAdapterCheckpoint.KeyWeight(index)), 1, 0)), IpAdapterLayers.Key(layer), TensorElementType.Float, "batch", arch.Tokens, channels);
            g.Output(g.MatMul(tokens, g.Transpose(n.W(IpAdapterCheckpoint.ValueWeight(index)), 1, 0)), IpAdapterLayers.Value(layer), TensorElementType.Float, "batch", arch.Tokens, channels);
        }

        return g.Build($"IP-Adapter built from {Path.GetFileName(adapter.Source)}: {arch.EmbeddingWidth}-wide image embedding → {arch.Tokens} tokens of {arch.ContextWidth}, {arch.LayerChannels.Count} cross-attention layers.");
    }
}
