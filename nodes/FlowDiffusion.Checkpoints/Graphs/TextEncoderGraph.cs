using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The CLIP text tower as ONNX: <c>input_ids</c> int32 [batch, sequence] → <c>last_hidden_state</c> (after the final
/// layer norm), <c>pooler_output</c> (at the end-of-text token) and <c>penultimate_hidden_state</c> (the second-to-last
/// layer's output through the final layer norm: CLIP skip 2 as A1111 and ComfyUI define it).
/// </summary>
public static class TextEncoderGraph
{
    /// <summary>The output carrying the penultimate layer, final-normed.</summary>
    public const string PenultimateOutput = "penultimate_hidden_state";

    /// <summary>
    /// Builds the graph with the checkpoint's tensors (canonical <c>text_model.*</c> names) as initializers, embedded unless
    /// <paramref name="binding"/> says otherwise; quick GELU (CLIP ViT-L) unless <paramref name="exactGelu"/> (SD 2.x's OpenCLIP).
    /// </summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, TextEncoderArchitecture arch, string source, WeightBinding? binding = null, bool exactGelu = false)
    {
        var g = new GraphBuilder("text_encoder");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        const string p = "text_model.";
        var (ids, h, penultimate) = Tower(g, n, arch, exactGelu);
        var last = n.LayerNorm(h, p + "final_layer_norm");
        g.Output(last, "last_hidden_state", TensorElementType.Float, "batch", "sequence", arch.Width);
        g.Output(ClipPooler.Pool(g, ids, last, arch.Width, arch.Vocabulary), "pooler_output", TensorElementType.Float, "batch", arch.Width);
        g.Output(n.LayerNorm(penultimate, p + "final_layer_norm"), PenultimateOutput, TensorElementType.Float, "batch", "sequence", arch.Width);
        return g.Build($"CLIP text encoder built from {Path.GetFileName(source)}: width {arch.Width}, {arch.Layers} layers, {arch.Heads} heads.");
    }

    /// <summary>
    /// The CLIP transformer both families share: token + position embeddings (positions repeat every window, so a long
    /// prompt reads as chunks of CLIP's positions), causal self-attention layers, quick or exact GELU. Returns the ids
    /// input, the last layer's output before the final layer norm, and the penultimate layer's output; <paramref name="states"/>,
    /// when given, receives the embeddings and every layer's output (transformers' <c>hidden_states</c>).
    /// </summary>
    internal static (string Ids, string Last, string Penultimate) Tower(GraphBuilder g, NetworkGraph n, TextEncoderArchitecture arch, bool exactGelu, List<string>? states = null)
    {
        const string p = "text_model.";
        var ids = g.Input("input_ids", TensorElementType.Int32, "batch", "sequence");
        var length = g.Squeeze(g.Shape(ids, 1, 2), 0);
        var steps = g.Node("Range", [g.Int64Scalar(0), length, g.Int64Scalar(1)]);
        var positions = g.Gather(n.W(p + "embeddings.position_embedding.weight"), g.Node("Mod", [steps, g.Int64Scalar(arch.Positions)]));
        var h = g.Add(g.Gather(n.W(p + "embeddings.token_embedding.weight"), ids), positions);
        var future = g.Node("Greater", [g.Unsqueeze(steps, 0), g.Unsqueeze(steps, 1)]);
        var causal = g.Node("Where", [future, g.Scalar(-1e9f), g.Scalar(0f)]);

        var penultimate = h;
        states?.Add(h);
        for (var i = 0; i < arch.Layers; i++)
        {
            penultimate = h;
            h = Layer(n, h, $"{p}encoder.layers.{i}.", arch.Width, arch.Heads, exactGelu, causal);
            states?.Add(h);
        }

        return (ids, h, penultimate);
    }

    /// <summary>
    /// One CLIP encoder layer (text and image towers alike): pre-norm self-attention with an optional additive mask, then
    /// the pre-norm MLP with quick (OpenAI) or exact (OpenCLIP) GELU, each added to the residual stream.
    /// </summary>
    internal static string Layer(NetworkGraph n, string h, string layer, long width, int heads, bool exactGelu, string? mask)
    {
        var g = n.G;
        var x = n.LayerNorm(h, layer + "layer_norm1");
        var attended = n.Attention(n.Linear(x, layer + "self_attn.q_proj"), n.Linear(x, layer + "self_attn.k_proj"), n.Linear(x, layer + "self_attn.v_proj"), width, heads, mask);
        h = g.Add(h, n.Linear(attended, layer + "self_attn.out_proj"));
        var m = n.Linear(n.LayerNorm(h, layer + "layer_norm2"), layer + "mlp.fc1");
        var activated = exactGelu ? n.Gelu(m) : g.Mul(m, g.Sigmoid(g.Mul(m, g.Scalar(1.702f))));
        return g.Add(h, n.Linear(activated, layer + "mlp.fc2"));
    }
}
