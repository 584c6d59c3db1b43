using FlowDiffusion.Checkpoints.IpAdapter;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// An IP-Adapter's image side as ONNX: <c>image_embeds</c> [batch, embedding] → <c>ip_tokens</c> [batch, N, context]
/// (<c>image_proj.proj</c> reshaped to N tokens, then <c>image_proj.norm</c>), or for IP-Adapter Plus
/// <c>penultimate_hidden_states</c> [batch, image tokens, hidden] → <c>ip_tokens</c> through the Resampler, and, for each cross-attention layer n in
/// the adapter's order, its decoupled keys and values <c>ip_key_n</c> / <c>ip_value_n</c> [batch, N, channels] (the
/// tokens through <c>to_k_ip</c> / <c>to_v_ip</c>): the inputs of the IP-adapted UNet (<see cref="IpAdapterLayers"/>).
/// </summary>
public static class IpAdapterGraph
{
    /// <summary>The input.</summary>
    public const string ImageEmbeds = "image_embeds";

    /// <summary>IP-Adapter Plus's input: the CLIP tower's penultimate hidden states.</summary>
    public const string HiddenStates = "penultimate_hidden_states";

    /// <summary>The tokens output.</summary>
    public const string Tokens = "ip_tokens";

    /// <summary>Builds the graph with the adapter's tensors as initializers, embedded unless <paramref name="binding"/> says otherwise.</summary>
    public static OnnxModel Build(IpAdapterCheckpoint adapter, WeightBinding? binding = null)
    {
        var arch = adapter.Architecture;
        var g = new GraphBuilder("ip_adapter");
        var n = new NetworkGraph(g, adapter.Tensors, adapter.Source, binding ?? WeightBinding.Embedded);
        string tokens;
        if (arch.Resampler is { } resampler)
        {
            tokens = Resample(n, g.Input(HiddenStates, TensorElementType.Float, "batch", "image_tokens", arch.EmbeddingWidth), resampler);
        }
        else
        {
            var embeds = g.Input(ImageEmbeds, TensorElementType.Float, "batch", arch.EmbeddingWidth);
            tokens = g.Reshape(n.Linear(embeds, IpAdapterCheckpoint.ProjectionPrefix + "proj"), 0, arch.Tokens, arch.ContextWidth);
            tokens = n.LayerNorm(tokens, IpAdapterCheckpoint.ProjectionPrefix + "norm");
        }

        g.Output(tokens, Tokens, TensorElementType.Float, "batch", arch.Tokens, arch.ContextWidth);
        for (var layer = 0; layer < adapter.ProcessorIndices.Count; layer++)
        {
            var index = adapter.ProcessorIndices[layer];
            var channels = arch.LayerChannels[layer];
            g.Output(g.MatMul(tokens, g.Transpose(n.W(IpAdapterCheckpoint.KeyWeight(index)), 1, 0)), IpAdapterLayers.Key(layer), TensorElementType.Float, "batch", arch.Tokens, channels);
            g.Output(g.MatMul(tokens, g.Transpose(n.W(IpAdapterCheckpoint.ValueWeight(index)), 1, 0)), IpAdapterLayers.Value(layer), TensorElementType.Float, "batch", arch.Tokens, channels);
        }

        var input = arch.Resampler is { } r ? $"{arch.EmbeddingWidth}-wide hidden states through a {r.Depth}-layer Resampler ({r.Width} wide, {r.Heads} heads)" : $"{arch.EmbeddingWidth}-wide image embedding";
        return g.Build($"IP-Adapter built from {Path.GetFileName(adapter.Source)}: {input} → {arch.Tokens} tokens of {arch.ContextWidth}, {arch.LayerChannels.Count} cross-attention layers.");
    }

    // The perceiver resampler: learned queries attend to the projected image features and to themselves (keys and values
    // over both, concatenated on the token axis), each layer's attention and feed-forward added to the queries.
    private static string Resample(NetworkGraph n, string hidden, ResamplerArchitecture r)
    {
        var g = n.G;
        const string p = ResamplerArchitecture.Prefix;
        var x = n.Linear(hidden, p + "proj_in");
        var latents = g.Node("Expand", [n.W(p + "latents"), g.Concat(0, g.Shape(hidden, 0, 1), g.Int64s(1, 1))]);
        var inner = r.Heads * ResamplerArchitecture.HeadWidth;
        for (var i = 0; i < r.Depth; i++)
        {
            var (attention, feedForward) = ($"{p}layers.{i}.0.", $"{p}layers.{i}.1.");
            var features = n.LayerNorm(x, attention + "norm1");
            var queries = n.LayerNorm(latents, attention + "norm2");
            var kv = n.Linear(g.Concat(1, features, queries), attention + "to_kv");
            var attended = n.Attention(n.Linear(queries, attention + "to_q"), g.Slice(kv, [0], [inner], [2]), g.Slice(kv, [inner], [2 * inner], [2]), inner, r.Heads);
            latents = g.Add(latents, n.Linear(attended, attention + "to_out"));
            var expanded = n.Gelu(n.Linear(n.LayerNorm(latents, feedForward + "0"), feedForward + "1"));
            latents = g.Add(latents, n.Linear(expanded, feedForward + "3"));
        }

        return n.LayerNorm(n.Linear(latents, p + "proj_out"), p + "norm_out");
    }
}
