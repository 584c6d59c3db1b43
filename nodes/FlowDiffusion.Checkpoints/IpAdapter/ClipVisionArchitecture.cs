using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.IpAdapter;

/// <summary>
/// A CLIP image tower's shape, read from its tensors (<c>vision_model.*</c>, <c>visual_projection.weight</c>): width,
/// layers, patch size, image size (patch × the side of the patch grid the positions cover), the projection's width.
/// The head count and the activation no tensor shows come from the folder's <c>config.json</c> when there is one, else
/// from the published towers: OpenAI's ViT-B/16, ViT-B/32 and ViT-L/14 use quick GELU, OpenCLIP's ViT-H/14 and ViT-bigG/14
/// exact GELU, all with 64-wide heads except ViT-H's and bigG's 16 heads.
/// </summary>
public sealed record ClipVisionArchitecture(int Width, int Layers, int Heads, int PatchSize, int ImageSize, int ProjectionWidth, bool ExactGelu)
{
    /// <summary>The layer norms' epsilon (transformers' <c>layer_norm_eps</c>).</summary>
    public const float NormEpsilon = 1e-5f;

    /// <summary>The tokens the tower sees: the class token and one per patch.</summary>
    public int Tokens => (ImageSize / PatchSize * (ImageSize / PatchSize)) + 1;

    /// <summary>Reads the shape from canonical tensor names; <paramref name="heads"/> and <paramref name="exactGelu"/> override the defaults.</summary>
    public static ClipVisionArchitecture Detect(IReadOnlyDictionary<string, StoredTensor> tensors, string source, int? heads = null, bool? exactGelu = null)
    {
        var cls = Require(tensors, ClipVisionNames.ClassEmbedding, source);
        var patch = Require(tensors, ClipVisionNames.PatchEmbedding, source);
        var positions = Require(tensors, ClipVisionNames.PositionEmbedding, source);
        var projection = Require(tensors, ClipVisionNames.Projection, source);
        var layers = Shapes.CountIndices(tensors.Keys, ClipVisionNames.Layers);
        var width = (int)cls[^1];
        if (patch.Length != 4 || patch[0] != width || patch[1] != 3 || patch[2] != patch[3] || positions.Length != 2 || positions[1] != width
            || projection.Length != 2 || projection[1] != width || layers == 0)
        {
            throw new CheckpointException($"{source}: the image tower's embeddings, projection or layers are not CLIP-shaped.");
        }

        var side = (int)Math.Round(Math.Sqrt(positions[0] - 1));
        if (side * side != positions[0] - 1)
        {
            throw new CheckpointException($"{source}: {positions[0]} positions are not a class token plus a square grid of patches.");
        }

        var openAi = (width, layers) is (768, 12) or (1024, 24);
        var headCount = heads ?? (width is 1280 or 1664 ? 16 : Math.Max(1, width / 64));
        if (width % headCount != 0)
        {
            throw new CheckpointException($"{source}: image tower width {width} does not split into {headCount} heads.");
        }

        return new ClipVisionArchitecture(width, layers, headCount, (int)patch[2], side * (int)patch[2], (int)projection[0], exactGelu ?? !openAi);
    }

    private static long[] Require(IReadOnlyDictionary<string, StoredTensor> tensors, string name, string source) =>
        tensors.TryGetValue(name, out var t) ? t.Shape : throw new CheckpointException($"{source}: image tower tensor '{name}' is missing; this is not a CLIP vision model (CLIPVisionModelWithProjection).");
}
