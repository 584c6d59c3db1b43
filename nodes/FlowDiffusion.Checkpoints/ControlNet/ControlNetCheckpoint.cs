using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.ControlNet;

/// <summary>
/// An SD 1.x ControlNet read from <c>.safetensors</c>: an original (LDM <c>control_model.*</c>) file, a diffusers
/// ControlNetModel file, or a diffusers folder holding <c>diffusion_pytorch_model(.fp16).safetensors</c>. The layout is
/// detected from the keys and the architecture from the shapes; <see cref="BuildGraph"/> gives its ONNX graph.
/// </summary>
public sealed class ControlNetCheckpoint : IDisposable
{

    private readonly SafetensorsFile _file;

    private ControlNetCheckpoint(SafetensorsFile file, string source, string layout, Dictionary<string, StoredTensor> tensors, int heads)
    {
        _file = file;
        Source = source;
        Layout = layout;
        Tensors = tensors;
        Architecture = ControlNetArchitecture.Detect(tensors, source, heads);
    }

    /// <summary>The file or folder it came from.</summary>
    public string Source { get; }

    /// <summary><c>ldm</c> (original <c>control_model.*</c> keys) or <c>diffusers</c>.</summary>
    public string Layout { get; }

    /// <summary>The tensors by diffusers name.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The shape read from the tensors.</summary>
    public ControlNetArchitecture Architecture { get; }

    /// <summary>Opens a ControlNet file or diffusers folder; throws a <see cref="CheckpointException"/> naming the file when it is none.</summary>
    public static ControlNetCheckpoint Open(string path, int heads = UNetArchitecture.ConventionalHeads)
    {
        var file = path;
        if (Directory.Exists(path))
        {
            file = DiffusersWeightFiles.Find(path, DiffusersWeightFiles.Model)
                ?? throw new CheckpointException($"{path}: no ControlNet weights found; expected {string.Join(" or ", DiffusersWeightFiles.Model)}.");
        }

        var safetensors = SafetensorsFile.Open(file);
        try
        {
            var keys = safetensors.Tensors.Keys.ToArray();
            if (ControlLoraFile.IsModelRelative(keys))
            {
                throw new CheckpointException(ControlLoraFile.IsControlLora(keys)
                    ? $"{file}: a Control-LoRA (it has '{ControlLoraFile.MarkerKey}'): its ControlNet is built from the UNet it is applied to, when sampling; load it with controlnet.load in a workflow."
                    : $"{file}: a diff ControlNet (it has '{ControlLoraFile.DifferenceKey}'): its weights are added to the UNet it is applied to, when sampling; load it with controlnet.load in a workflow.");
            }

            Dictionary<string, StoredTensor> tensors;
            string layout;
            if (ControlNetKeyMap.LdmPrefix(keys) is { } prefix)
            {
                layout = "ldm";
                tensors = ControlNetKeyMap.Map(keys, prefix, file).ToDictionary(p => p.Value, p => Stored(safetensors, p.Key), StringComparer.Ordinal);
            }
            else if (ControlNetKeyMap.IsDiffusers(keys))
            {
                layout = "diffusers";
                // A union ControlNet stores its attention's packed projection as in_proj_weight/in_proj_bias (torch's
                // MultiheadAttention names); read them as the module in_proj, as ComfyUI does.
                tensors = keys.ToDictionary(k => k.Replace(".attn.in_proj_", ".attn.in_proj.", StringComparison.Ordinal), k => Stored(safetensors, k), StringComparer.Ordinal);
            }
            else
            {
                throw new CheckpointException($"{file}: no ControlNet keys (control_model.input_hint_block.* or controlnet_cond_embedding.*); this is not a ControlNet.");
            }

            return new ControlNetCheckpoint(safetensors, path, layout, tensors, heads);
        }
        catch
        {
            safetensors.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The ControlNet graph: <c>sample</c> [batch, in, h, w], <c>timestep</c> [batch], <c>encoder_hidden_states</c>
    /// [batch, tokens, context] and <c>controlnet_cond</c> [batch, channels, 8h, 8w] (the control image in [0, 1]) →
    /// the residuals named by <see cref="ControlResiduals"/>, unscaled.
    /// </summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => ControlNetGraph.Build(Tensors, Architecture, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    private static StoredTensor Stored(SafetensorsFile file, string key)
    {
        var tensor = file.Tensors[key];
        return new StoredTensor(file, tensor, tensor.Shape);
    }
}
