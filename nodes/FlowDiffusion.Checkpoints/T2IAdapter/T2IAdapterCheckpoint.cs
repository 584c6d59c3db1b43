using System.Text.Json;
using System.Text.RegularExpressions;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.T2IAdapter;

/// <summary>
/// A full T2I-Adapter read from <c>.safetensors</c>: an original TencentARC file (<c>conv_in</c>, <c>body.k.*</c>), a
/// diffusers T2IAdapter file, or a diffusers folder holding <c>diffusion_pytorch_model(.fp16).safetensors</c> (and
/// <c>config.json</c>, whose <c>adapter_type</c> is read). The layout is detected from the keys and the architecture from
/// the shapes; <see cref="BuildGraph"/> gives its ONNX graph.
/// </summary>
public sealed partial class T2IAdapterCheckpoint : IDisposable
{

    private readonly SafetensorsFile _file;

    private T2IAdapterCheckpoint(SafetensorsFile file, string source, string layout, Dictionary<string, StoredTensor> tensors, T2IAdapterArchitecture architecture)
    {
        _file = file;
        Source = source;
        Layout = layout;
        Tensors = tensors;
        Architecture = architecture;
    }

    /// <summary>The file or folder it came from.</summary>
    public string Source { get; }

    /// <summary><c>original</c> (TencentARC's names) or <c>diffusers</c>.</summary>
    public string Layout { get; }

    /// <summary>The tensors by original (TencentARC) name.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The shape read from the tensors.</summary>
    public T2IAdapterArchitecture Architecture { get; }

    /// <summary>Whether <paramref name="path"/> (a <c>.safetensors</c> file or diffusers folder) holds a T2I-Adapter, from its keys alone.</summary>
    public static bool IsAdapter(string path)
    {
        var file = WeightsFile(path);
        if (file is null || !File.Exists(file) || !WeightFiles.IsWeightFile(file))
        {
            return false;
        }

        using var safetensors = SafetensorsFile.Open(file);
        return T2IAdapterKeyMap.IsAdapter(safetensors.Tensors.Keys.ToArray());
    }

    /// <summary>Opens a T2I-Adapter file or diffusers folder; throws a <see cref="CheckpointException"/> naming the file when it is none.</summary>
    public static T2IAdapterCheckpoint Open(string path)
    {
        var file = WeightsFile(path)
            ?? throw new CheckpointException($"{path}: no T2I-Adapter weights found; expected {string.Join(" or ", DiffusersWeightFiles.Model)}.");
        var adapterType = Directory.Exists(path) ? AdapterType(Path.Combine(path, "config.json")) : null;
        var safetensors = SafetensorsFile.Open(file);
        try
        {
            var keys = safetensors.Tensors.Keys.ToArray();
            Dictionary<string, StoredTensor> tensors;
            string layout;
            int resBlocks;
            if (T2IAdapterKeyMap.IsDiffusers(keys))
            {
                layout = "diffusers";
                resBlocks = T2IAdapterKeyMap.DiffusersResBlocks(keys);
                tensors = T2IAdapterKeyMap.FromDiffusers(keys, resBlocks, file).ToDictionary(p => p.Value, p => Stored(safetensors, p.Key), StringComparer.Ordinal);
            }
            else if (T2IAdapterKeyMap.IsOriginal(keys))
            {
                layout = "original";
                resBlocks = T2IAdapterArchitecture.OriginalResBlocks;
                foreach (var key in keys.Where(k => !OriginalKey().IsMatch(k)))
                {
                    throw new CheckpointException($"{file}: T2I-Adapter tensor '{key}' fits no full-adapter module (conv_in, body.k.in_conv, block1, block2).");
                }

                tensors = keys.ToDictionary(k => k, k => Stored(safetensors, k), StringComparer.Ordinal);
            }
            else
            {
                throw new CheckpointException($"{file}: no T2I-Adapter keys (conv_in and body.k.block1, or adapter.body.N.resnets.M.*); this is not a T2I-Adapter.");
            }

            var architecture = T2IAdapterArchitecture.Detect(tensors, resBlocks, file, adapterType);
            return new T2IAdapterCheckpoint(safetensors, path, layout, tensors, architecture);
        }
        catch
        {
            safetensors.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The adapter graph: <c>image</c> [batch, channels, H, W] (the control image in [0, 1], H and W multiples of the
    /// unshuffle factor) → <c>feature_0</c> … one per level, unscaled (<see cref="T2IAdapterGraph"/>).
    /// </summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => T2IAdapterGraph.Build(Tensors, Architecture, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    private static string? WeightsFile(string path) =>
        Directory.Exists(path) ? DiffusersWeightFiles.Find(path, DiffusersWeightFiles.Model) : path;

    private static string? AdapterType(string config)
    {
        if (!File.Exists(config) || new FileInfo(config).Length > 1 << 20)
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(config));
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("adapter_type", out var type) && type.ValueKind == JsonValueKind.String
                ? type.GetString()
                : null;
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{config}: not valid JSON ({e.Message}).");
        }
    }

    private static StoredTensor Stored(SafetensorsFile file, string key)
    {
        var tensor = file.Tensors[key];
        return new StoredTensor(file, tensor, tensor.Shape);
    }

    [GeneratedRegex(@"^(conv_in|body\.\d+\.(in_conv|block1|block2))\.(weight|bias)$")]
    private static partial Regex OriginalKey();
}
