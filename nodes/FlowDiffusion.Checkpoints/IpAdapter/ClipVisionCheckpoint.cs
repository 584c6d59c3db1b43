using System.Text.Json;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.IpAdapter;

/// <summary>
/// A CLIP image encoder read from <c>.safetensors</c>: a file in transformers' <c>CLIPVisionModelWithProjection</c> layout
/// (ComfyUI's <c>models/clip_vision</c> files, any prefix before <c>vision_model.</c> dropped), or a folder holding
/// <c>model.safetensors</c> and <c>config.json</c> (IP-Adapter's <c>image_encoder</c>), whose <c>num_attention_heads</c>
/// and <c>hidden_act</c> are read. <see cref="BuildGraph"/> gives its ONNX graph (<see cref="ClipVisionGraph"/>).
/// </summary>
public sealed class ClipVisionCheckpoint : IDisposable
{
    private readonly SafetensorsFile _file;

    private ClipVisionCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors, ClipVisionArchitecture architecture)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
        Architecture = architecture;
    }

    /// <summary>The file or folder it came from.</summary>
    public string Source { get; }

    /// <summary>The tower's tensors by canonical name (<see cref="ClipVisionNames"/>).</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The shape read from the tensors (and the folder's configuration).</summary>
    public ClipVisionArchitecture Architecture { get; }

    /// <summary>Opens a CLIP vision file or folder; throws a <see cref="CheckpointException"/> naming the file when it is none.</summary>
    public static ClipVisionCheckpoint Open(string path)
    {
        var file = path;
        int? heads = null;
        bool? exactGelu = null;
        if (Directory.Exists(path))
        {
            file = DiffusersWeightFiles.Find(path, DiffusersWeightFiles.Transformers)
                ?? throw new CheckpointException($"{path}: no CLIP vision weights found; expected {string.Join(" or ", DiffusersWeightFiles.Transformers)}.");
            (heads, exactGelu) = ReadConfig(Path.Combine(path, "config.json"));
        }

        var safetensors = SafetensorsFile.Open(file);
        try
        {
            var anchor = safetensors.Tensors.Keys.FirstOrDefault(k => k.EndsWith(ClipVisionNames.ClassEmbedding, StringComparison.Ordinal))
                ?? throw new CheckpointException($"{file}: no '{ClipVisionNames.ClassEmbedding}' tensor; this is not a CLIP vision model (CLIPVisionModelWithProjection).");
            var prefix = anchor[..^ClipVisionNames.ClassEmbedding.Length];
            var tensors = safetensors.Tensors
                .Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal))
                .ToDictionary(p => p.Key[prefix.Length..], p => new StoredTensor(safetensors, p.Value, p.Value.Shape), StringComparer.Ordinal);
            return new ClipVisionCheckpoint(safetensors, path, tensors, ClipVisionArchitecture.Detect(tensors, file, heads, exactGelu));
        }
        catch
        {
            safetensors.Dispose();
            throw;
        }
    }

    /// <summary>The tower's graph (<see cref="ClipVisionGraph.Build"/>).</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => ClipVisionGraph.Build(Tensors, Architecture, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    private static (int? Heads, bool? ExactGelu) ReadConfig(string path)
    {
        if (!File.Exists(path))
        {
            return (null, null);
        }

        if (new FileInfo(path).Length > 1 << 20)
        {
            throw new CheckpointException($"{path}: over 1 MiB; a model configuration is a few hundred bytes.");
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            // A CLIPVisionModelWithProjection config has its fields at the top; a CLIPModel config under vision_config.
            if (root.TryGetProperty("vision_config", out var vision) && vision.ValueKind == JsonValueKind.Object)
            {
                root = vision;
            }

            int? heads = root.TryGetProperty("num_attention_heads", out var h) && h.TryGetInt32(out var count) && count > 0 ? count : null;
            bool? exact = root.TryGetProperty("hidden_act", out var act) && act.ValueKind == JsonValueKind.String
                ? act.GetString() switch
                {
                    "gelu" => true,
                    "quick_gelu" => false,
                    var other => throw new CheckpointException($"{path}: hidden_act '{other}' is not one a CLIP tower uses (gelu or quick_gelu)."),
                }
                : null;
            return (heads, exact);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not valid JSON ({e.Message}).");
        }
    }
}
