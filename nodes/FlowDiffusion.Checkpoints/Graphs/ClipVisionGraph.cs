using FlowDiffusion.Checkpoints.IpAdapter;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The CLIP image tower as ONNX: <c>pixel_values</c> [batch, 3, S, S] (preprocessed: CLIP's mean and std) →
/// <c>image_embeds</c> [batch, projection] (the post-layernormed class token through <c>visual_projection</c>),
/// <c>last_hidden_state</c> and <c>penultimate_hidden_states</c> [batch, tokens, width] (transformers'
/// <c>hidden_states[-2]</c>, what IP-Adapter Plus reads). The encoder layers are the text tower's
/// (<see cref="TextEncoderGraph.Layer"/>) without the causal mask.
/// </summary>
public static class ClipVisionGraph
{
    /// <summary>The input.</summary>
    public const string PixelValues = "pixel_values";

    /// <summary>The projected image embedding output.</summary>
    public const string ImageEmbeds = "image_embeds";

    /// <summary>The second-to-last layer's output.</summary>
    public const string Penultimate = "penultimate_hidden_states";

    /// <summary>Builds the graph with the tower's tensors (canonical names) as initializers, embedded unless <paramref name="binding"/> says otherwise.</summary>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, ClipVisionArchitecture arch, string source, WeightBinding? binding = null)
    {
        var g = new GraphBuilder("clip_vision");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        var pixels = g.Input(PixelValues, TensorElementType.Float, "batch", 3, arch.ImageSize, arch.ImageSize);
        var patches = g.Node(
            "Conv",
            [pixels, n.W(ClipVisionNames.PatchEmbedding)],
            OnnxAttribute.Ints("kernel_shape", arch.PatchSize, arch.PatchSize),
            OnnxAttribute.Ints("strides", arch.PatchSize, arch.PatchSize));
        var sequence = n.ToSequence(patches, arch.Width);
        var classToken = g.Node("Expand", [g.Reshape(n.W(ClipVisionNames.ClassEmbedding), 1, 1, arch.Width), g.Concat(0, g.Shape(pixels, 0, 1), g.Int64s(1, arch.Width))]);
        var h = g.Add(g.Concat(1, classToken, sequence), n.W(ClipVisionNames.PositionEmbedding));
        h = n.LayerNorm(h, ClipVisionNames.PreNorm, ClipVisionArchitecture.NormEpsilon);
        var penultimate = h;
        for (var i = 0; i < arch.Layers; i++)
        {
            penultimate = h;
            h = TextEncoderGraph.Layer(n, h, $"{ClipVisionNames.Layers}{i}.", arch.Width, arch.Heads, arch.ExactGelu, mask: null);
        }

        var pooled = n.LayerNorm(g.Squeeze(g.Slice(h, [0], [1], [1]), 1), ClipVisionNames.PostNorm, ClipVisionArchitecture.NormEpsilon);
        var embeds = g.MatMul(pooled, g.Transpose(n.W(ClipVisionNames.Projection), 1, 0));
        g.Output(embeds, ImageEmbeds, TensorElementType.Float, "batch", arch.ProjectionWidth);
        g.Output(h, "last_hidden_state", TensorElementType.Float, "batch", arch.Tokens, arch.Width);
        g.Output(penultimate, Penultimate, TensorElementType.Float, "batch", arch.Tokens, arch.Width);
        return g.Build($"CLIP image encoder built from {Path.GetFileName(source)}: width {arch.Width}, {arch.Layers} layers, {arch.Heads} heads, {arch.ImageSize}² in patches of {arch.PatchSize}, projection {arch.ProjectionWidth}.");
    }
}
