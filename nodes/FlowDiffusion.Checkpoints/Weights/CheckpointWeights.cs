using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>
/// A checkpoint's tensors by network and canonical (diffusers) name, read from an LDM single file or a diffusers folder.
/// The files stay memory-mapped until disposal; values are converted to float32 only when a builder asks.
/// </summary>
public sealed partial class CheckpointWeights : IDisposable
{
    private static readonly (string Folder, IReadOnlyList<string> Files, ModelPart Part)[] DiffusersFiles =
    [
        ("unet", DiffusersWeightFiles.Model, ModelPart.UNet),
        ("text_encoder", DiffusersWeightFiles.Transformers, ModelPart.TextEncoder),
        ("vae", DiffusersWeightFiles.Model, ModelPart.Vae),
        ("text_encoder_2", DiffusersWeightFiles.Transformers, ModelPart.TextEncoder2),
    ];

    private static readonly (string Old, string New)[] OldVaeAttentionNames =
        [(".query.", ".to_q."), (".key.", ".to_k."), (".value.", ".to_v."), (".proj_attn.", ".to_out.0.")];

    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<ModelPart, Dictionary<string, StoredTensor>> _parts;

    private CheckpointWeights(string source, List<SafetensorsFile> files, Dictionary<ModelPart, Dictionary<string, StoredTensor>> parts)
    {
        Source = source;
        _files = files;
        _parts = parts;
    }

    /// <summary>The file or folder the weights came from.</summary>
    public string Source { get; }

    /// <summary>Whether <see cref="ModelPart.TextEncoder"/> was stored as an OpenCLIP tower (an SD 2.x single file), whose MLP uses exact GELU.</summary>
    public bool OpenClipTextEncoder { get; private init; }

    /// <summary>Whether the checkpoint holds <paramref name="part"/>.</summary>
    public bool Has(ModelPart part) => _parts.TryGetValue(part, out var tensors) && tensors.Count > 0;

    /// <summary>The tensors of one network by canonical name; throws naming the source when the checkpoint lacks it.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Part(ModelPart part) => Has(part)
        ? _parts[part]
        : throw new CheckpointException($"{Source}: the checkpoint holds no {part} weights.");

    /// <summary>
    /// Opens an LDM single-file checkpoint (<c>model.diffusion_model.*</c>, <c>first_stage_model.*</c>, <c>cond_stage_model.*</c>;
    /// SD 2.x's OpenCLIP tower as <see cref="Sd2Keys"/> reads it).
    /// </summary>
    public static CheckpointWeights OpenSingleFile(string path)
    {
        var file = SafetensorsFile.Open(path);
        try
        {
            var keys = file.Tensors.Keys.ToArray();
            if (!LdmKeyMap.IsLdm(keys))
            {
                throw new CheckpointException($"{path}: no tensor has an LDM checkpoint prefix (model.diffusion_model., first_stage_model., cond_stage_model.); this is not an SD single-file checkpoint.");
            }

            var sd2 = Sd2Keys.IsSd2(keys);
            if (sd2)
            {
                Sd2Keys.RefuseUnsupported(file);
            }

            var parts = new Dictionary<ModelPart, Dictionary<string, StoredTensor>>();
            foreach (var (key, (part, name)) in LdmKeyMap.Map(keys, path))
            {
                var tensor = file.Tensors[key];
                if (!parts.TryGetValue(part, out var tensors))
                {
                    parts[part] = tensors = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
                }

                tensors[name] = new StoredTensor(file, tensor, CanonicalShape(part, name, tensor.Shape));
            }

            if (sd2)
            {
                parts[ModelPart.TextEncoder] = Sd2Keys.TextEncoder(file);
            }
            else if (OpenClipKeyMap.Map(file) is { Count: > 0 } openClip)
            {
                parts[ModelPart.TextEncoder2] = openClip;
            }

            return new CheckpointWeights(path, [file], parts) { OpenClipTextEncoder = sd2 };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Opens a diffusers folder with PyTorch-format weights (<c>unet/diffusion_pytorch_model.safetensors</c>, <c>text_encoder/model.safetensors</c>, <c>vae/…</c>; or their <c>.bin</c>).</summary>
    public static CheckpointWeights OpenDiffusersFolder(string folder)
    {
        var files = new List<SafetensorsFile>();
        var parts = new Dictionary<ModelPart, Dictionary<string, StoredTensor>>();
        try
        {
            foreach (var (sub, names, part) in DiffusersFiles)
            {
                var path = DiffusersWeightFiles.Find(Path.Combine(folder, sub), names);
                if (path is null)
                {
                    continue;
                }

                var file = SafetensorsFile.Open(path);
                files.Add(file);
                parts[part] = file.Tensors.Values.ToDictionary(
                    t => Canonical(part, t.Name),
                    t => new StoredTensor(file, t, CanonicalShape(part, Canonical(part, t.Name), t.Shape)),
                    StringComparer.Ordinal);
            }

            if (parts.Count == 0)
            {
                throw new CheckpointException($"{folder}: no diffusers weights found; expected unet/diffusion_pytorch_model.safetensors, text_encoder/model.safetensors and vae/diffusion_pytorch_model.safetensors (or their .bin).");
            }

            return new CheckpointWeights(folder, files, parts);
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    /// <summary>Opens a single file or a diffusers folder, whichever <paramref name="path"/> is.</summary>
    public static CheckpointWeights Open(string path) => Directory.Exists(path) ? OpenDiffusersFolder(path) : OpenSingleFile(path);

    /// <inheritdoc />
    public void Dispose() => _files.ForEach(f => f.Dispose());

    private static string Canonical(ModelPart part, string name)
    {
        if (part == ModelPart.Vae && name.Contains(".mid_block.attentions.0.", StringComparison.Ordinal))
        {
            foreach (var (old, renamed) in OldVaeAttentionNames)
            {
                name = name.Replace(old, renamed, StringComparison.Ordinal);
            }
        }

        return name;
    }

    // LDM's VAE attention uses 1×1 convolutions where diffusers uses linear layers: the same numbers, shape [C,C].
    internal static long[] CanonicalShape(ModelPart part, string name, long[] shape) =>
        part == ModelPart.Vae && name.Contains(".mid_block.attentions.0.to_", StringComparison.Ordinal) && shape is [var o, var i, 1, 1]
            ? [o, i]
            : shape;
}
