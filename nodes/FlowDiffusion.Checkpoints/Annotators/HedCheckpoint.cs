using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// The ControlNet annotators' HED network (ControlNetHED_Apache2; lllyasviel's <c>ControlNetHED.pth</c>, which
/// comfyui_controlnet_aux and sd-webui-controlnet download): <c>norm</c> [1, 3, 1, 1], then five blocks
/// <c>blockN.convs.J</c> of 3×3 convolutions (2, 2, 3, 3, 3 of them; 64, 128, 256, 512, 512 features) and a 1×1
/// <c>blockN.projection</c> to one channel. Read from <c>.pth</c> or <c>.safetensors</c>; every key and shape is checked on open.
/// </summary>
public sealed class HedCheckpoint : IDisposable
{
    /// <summary>Each block's input channels, features and convolutions.</summary>
    public static readonly (int Inputs, int Features, int Convolutions)[] Blocks = [(3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3)];

    private readonly SafetensorsFile _file;

    private HedCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names in the file.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>Every tensor name and shape the network has.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        yield return ("norm", [1, 3, 1, 1]);
        for (var b = 0; b < Blocks.Length; b++)
        {
            var (inputs, features, convolutions) = Blocks[b];
            for (var j = 0; j < convolutions; j++)
            {
                yield return ($"block{b + 1}.convs.{j}.weight", [features, j == 0 ? inputs : features, 3, 3]);
                yield return ($"block{b + 1}.convs.{j}.bias", [features]);
            }

            yield return ($"block{b + 1}.projection.weight", [1, features, 1, 1]);
            yield return ($"block{b + 1}.projection.bias", [1]);
        }
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not the HED network.</summary>
    public static HedCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), "HED annotator (ControlNetHED.pth, ControlNetHED_Apache2's keys norm and block1…5)");
        return new HedCheckpoint(file, path, tensors);
    }

    /// <summary>The ONNX graph: <c>image</c> [1, 3, h, w] (RGB 0..255) → <c>edges</c> [1, 1, h, w], the mean of the five side outputs resized to the input (h, w multiples of 16).</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => HedGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
