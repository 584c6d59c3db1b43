using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using FlowDiffusion.ModelGenerator.Weights;

namespace FlowDiffusion.ModelGenerator.Tiny;

/// <summary>A one-layer CLIP text transformer: token + position embeddings, causal self-attention, MLP, final layer norm.</summary>
internal static class TinyTextEncoder
{
    public const int Width = 32;
    private const int Heads = 2;
    private const int Positions = 77;

    public static OnnxModel Build(int vocabularySize)
    {
        var g = new GraphBuilder("tiny_text_encoder");
        var weights = new UniformInitializer(0x7E47_0001);
        var layers = new Layers(g, weights);
        var ids = g.Input("input_ids", TensorElementType.Int32, "batch", "sequence");

        var tokens = g.Gather(g.Weight("token_embedding", weights.Uniform(vocabularySize * Width, 0.05), vocabularySize, Width), ids);
        var length = g.Squeeze(g.Shape(ids, 1, 2), 0);
        var steps = g.Node("Range", [g.Int64Scalar(0), length, g.Int64Scalar(1)]);
        // Positions repeat every 77 tokens, so a long prompt reads as chunks of CLIP's 77 positions.
        var positions = g.Gather(g.Weight("position_embedding", weights.Uniform(Positions * Width, 0.05), Positions, Width), g.Node("Mod", [steps, g.Int64Scalar(Positions)]));
        var h = g.Add(tokens, positions);

        var future = g.Node("Greater", [g.Unsqueeze(steps, 0), g.Unsqueeze(steps, 1)]);
        var causalMask = g.Node("Where", [future, g.Scalar(-1e9f), g.Scalar(0f)]);
        var n1 = layers.LayerNorm(h, Width, "layer0.norm1");
        h = g.Add(h, layers.Attention(n1, Width, n1, Width, Width, Heads, "layer0.self_attn", causalMask));
        h = g.Add(h, layers.FeedForward(layers.LayerNorm(h, Width, "layer0.norm2"), Width, "layer0.mlp"));
        var last = layers.LayerNorm(h, Width, "final_layer_norm");

        g.Output(last, "last_hidden_state", TensorElementType.Float, "batch", "sequence", Width);
        g.Output(ClipPooler.Pool(g, ids, last, Width), "pooler_output", TensorElementType.Float, "batch", Width);
        return g.Build("Tiny CLIP-style text encoder with deterministic random weights (for tests, not for images).");
    }
}
