using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.Architecture;

/// <summary>A CLIP text tower's shape, read from its tensors; the head count follows CLIP's 64-wide heads unless given.</summary>
public sealed record TextEncoderArchitecture(int Vocabulary, int Positions, int Width, int Layers, int Heads)
{
    /// <summary>CLIP ViT-L's head width: 12 heads at width 768.</summary>
    public const int ConventionalHeadWidth = 64;

    /// <summary>The pooled projection's width (<c>text_projection</c>, SDXL's second tower), or 0 for a tower without one.</summary>
    public int ProjectionWidth { get; init; }

    /// <summary>Reads the shape from canonical tensor names (<c>text_model.*</c>).</summary>
    public static TextEncoderArchitecture Detect(IReadOnlyDictionary<string, StoredTensor> tensors, string source, int? heads = null)
    {
        var token = Require(tensors, "text_model.embeddings.token_embedding.weight", source);
        var position = Require(tensors, "text_model.embeddings.position_embedding.weight", source);
        var layers = Shapes.CountIndices(tensors.Keys, "text_model.encoder.layers.");
        if (token.Length != 2 || position.Length != 2 || layers == 0)
        {
            throw new CheckpointException($"{source}: the text encoder's embeddings or layers are not CLIP-shaped.");
        }

        var width = (int)token[1];
        var headCount = heads ?? Math.Max(1, width / ConventionalHeadWidth);
        if (width % headCount != 0)
        {
            throw new CheckpointException($"{source}: text encoder width {width} does not split into {headCount} heads.");
        }

        var projection = tensors.TryGetValue("text_projection.weight", out var p) && p.Shape.Length == 2 && p.Shape[1] == width ? (int)p.Shape[0] : 0;
        return new TextEncoderArchitecture((int)token[0], (int)position[0], width, layers, headCount) { ProjectionWidth = projection };
    }

    private static long[] Require(IReadOnlyDictionary<string, StoredTensor> tensors, string name, string source) =>
        tensors.TryGetValue(name, out var t) ? t.Shape : throw new CheckpointException($"{source}: text encoder tensor '{name}' is missing.");
}
