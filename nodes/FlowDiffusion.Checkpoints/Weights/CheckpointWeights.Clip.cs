using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>
/// Standalone CLIP text-encoder files: what ComfyUI's CLIPSave writes and CLIPLoader / DualCLIPLoader read — transformers'
/// names (<c>text_model.*</c>) or OpenCLIP's (<c>transformer.resblocks.*</c>, <c>token_embedding</c>, …, without a prefix).
/// </summary>
public sealed partial class CheckpointWeights
{
    // ComfyUI tells OpenCLIP ViT-bigG from CLIP ViT-L by this key (bigG has 32 layers, ViT-L 12, ViT-H 24).
    private const string BigGLayerKey = "text_model.encoder.layers.30.mlp.fc1.weight";

    // ... and OpenCLIP ViT-H (SD 2.x's CLIP) by this one, when the bigG key is absent.
    private const string ViTHLayerKey = "text_model.encoder.layers.22.mlp.fc1.weight";

    /// <summary>
    /// Opens a CLIP text tower saved alone in transformers' names (<c>text_model.*</c>, optionally
    /// <c>text_projection.weight</c>, or an old CLIPSave's <c>text_projection</c> stored as <c>x @ P</c>) or in OpenCLIP's
    /// (<c>transformer.resblocks.N.*</c> with a fused <c>in_proj</c>, as ComfyUI also reads), as <c>clip_l.safetensors</c>,
    /// <c>clip_g.safetensors</c> and ComfyUI's CLIPSave files hold it; only <paramref name="part"/> is set (the SDXL refiner's
    /// one tower is <see cref="ModelPart.TextEncoder2"/>).
    /// </summary>
    /// <exception cref="CheckpointException">The file holds no CLIP text tower; the message names the file and its first keys.</exception>
    public static CheckpointWeights OpenClip(string path, ModelPart part = ModelPart.TextEncoder)
    {
        var file = SafetensorsFile.Open(path);
        try
        {
            return new CheckpointWeights(path, [file], new Dictionary<ModelPart, Dictionary<string, StoredTensor>> { [part] = ClipTower(file, path) });
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens SDXL's two text towers from two standalone CLIP files given in either order (ComfyUI's DualCLIPLoader, type
    /// sdxl): the CLIP ViT-L tower becomes <see cref="ModelPart.TextEncoder"/>, the OpenCLIP ViT-bigG tower
    /// <see cref="ModelPart.TextEncoder2"/>. They are told apart as ComfyUI tells them (bigG has a 31st layer); towers
    /// shallower than that (small test models) by depth, then by the pooled projection only bigG's carries.
    /// </summary>
    /// <exception cref="CheckpointException">A file holds no CLIP tower, or the two cannot be told apart (two CLIP ViT-L files, say); the message names both files.</exception>
    public static CheckpointWeights OpenSdxlClip(string first, string second)
    {
        var files = new List<SafetensorsFile>();
        try
        {
            files.Add(SafetensorsFile.Open(first));
            var a = ClipTower(files[0], first);
            files.Add(SafetensorsFile.Open(second));
            var b = ClipTower(files[1], second);
            var order = Rank(a).CompareTo(Rank(b));
            if (order == 0)
            {
                throw new CheckpointException($"{first} and {second}: both files hold the same kind of CLIP text tower ({Describe(a)}), so neither is SDXL's OpenCLIP ViT-bigG "
                    + "beside its CLIP ViT-L; an SDXL CLIP takes one of each (clip_l and clip_g).");
            }

            var (l, g, gPath) = order < 0 ? (a, b, second) : (b, a, first);
            if (!g.ContainsKey("text_projection.weight"))
            {
                throw new CheckpointException($"{gPath}: the OpenCLIP ViT-bigG tower has no text_projection; SDXL's pooled conditioning needs it.");
            }

            return new CheckpointWeights($"{first} + {second}", files,
                new Dictionary<ModelPart, Dictionary<string, StoredTensor>> { [ModelPart.TextEncoder] = l, [ModelPart.TextEncoder2] = g });
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    /// <summary>Whether the CLIP file at <paramref name="path"/> is an OpenCLIP ViT-bigG tower by ComfyUI's test (a 31st layer): SDXL's clip_g.</summary>
    public static bool IsBigGClip(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return ClipTower(file, path).ContainsKey(BigGLayerKey);
    }

    /// <summary>
    /// Whether the CLIP file at <paramref name="path"/> is an OpenCLIP ViT-H tower by ComfyUI's test (a 23rd layer and no
    /// 31st, in either layout): SD 2.x's text encoder, which ComfyUI's CLIPLoader (stable_diffusion) runs as SD2ClipModel.
    /// </summary>
    public static bool IsViTHClip(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var tower = ClipTower(file, path);
        return tower.ContainsKey(ViTHLayerKey) && !tower.ContainsKey(BigGLayerKey);
    }

    /// <summary>
    /// Opens SD 2.x's OpenCLIP ViT-H text tower saved alone (see <see cref="IsViTHClip"/>), in either layout, as
    /// <see cref="ModelPart.TextEncoder"/> without the layers SD 2.x never runs (<see cref="Sd2Keys.StandaloneTextEncoder"/>),
    /// marked as OpenCLIP's (exact GELU), as a single file's SD 2.x tower.
    /// </summary>
    /// <exception cref="CheckpointException">The file holds no CLIP text tower; the message names the file and its first keys.</exception>
    public static CheckpointWeights OpenSd2Clip(string path)
    {
        var file = SafetensorsFile.Open(path);
        try
        {
            var tower = Sd2Keys.StandaloneTextEncoder(ClipTower(file, path));
            return new CheckpointWeights(path, [file], new Dictionary<ModelPart, Dictionary<string, StoredTensor>> { [ModelPart.TextEncoder] = tower }) { OpenClipTextEncoder = true };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    // The tower's canonical tensors from either layout; keys of no text path (logit_scale, a vision tower) are left out.
    private static Dictionary<string, StoredTensor> ClipTower(SafetensorsFile file, string path)
    {
        var tensors = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in file.Tensors)
        {
            if (key.StartsWith("text_model.", StringComparison.Ordinal) || key == "text_projection.weight")
            {
                tensors[key] = new StoredTensor(file, tensor, tensor.Shape);
                continue;
            }

            // OpenCLIP's names (and an old CLIPSave's text_projection, applied as x @ P) map as a checkpoint's OpenCLIP tower does.
            foreach (var (name, shape, rows, transposed) in OpenClipKeyMap.Read(key, tensor.Shape))
            {
                tensors.TryAdd(name, new StoredTensor(file, tensor, shape) { Rows = rows, Transposed = transposed });
            }
        }

        if (!tensors.Keys.Any(k => k.StartsWith("text_model.", StringComparison.Ordinal)))
        {
            throw new CheckpointException($"{path}: no tensor is a CLIP text encoder's in transformers' names (text_model.*) or OpenCLIP's (transformer.resblocks.*); "
                + $"the file's first keys are {string.Join(", ", file.Tensors.Keys.Order(StringComparer.Ordinal).Take(3))}.");
        }

        return tensors;
    }

    // How bigG-like a tower is: ComfyUI's 31st layer first, then depth, then the pooled projection.
    private static (bool BigG, int Layers, bool Projection) Rank(Dictionary<string, StoredTensor> tower) =>
        (tower.ContainsKey(BigGLayerKey), Architecture.Shapes.CountIndices(tower.Keys, "text_model.encoder.layers."), tower.ContainsKey("text_projection.weight"));

    private static string Describe(Dictionary<string, StoredTensor> tower)
    {
        var (_, layers, projection) = Rank(tower);
        var width = tower.TryGetValue("text_model.embeddings.token_embedding.weight", out var token) && token.Shape.Length == 2 ? token.Shape[1] : 0;
        return $"{layers} layers, {width} wide, {(projection ? "with" : "without")} a text_projection";
    }
}
