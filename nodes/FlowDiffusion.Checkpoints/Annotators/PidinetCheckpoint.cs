using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// The ControlNet annotators' PiDiNet (lllyasviel's <c>table5_pidinet.pth</c>, which comfyui_controlnet_aux and
/// sd-webui-controlnet download): the 'carv4' network of 60 channels with CDCM (24 channels) and CSAM, its state dict under
/// <c>state_dict</c> with DataParallel's <c>module.</c> prefix (read with or without it). The pixel-difference
/// convolutions are stored as their 3×3 weights; <see cref="PidinetGraph"/> converts them. Every key and shape is checked on open.
/// </summary>
public sealed class PidinetCheckpoint : IDisposable
{
    /// <summary>The init block's and the 15 blocks' pixel-difference convolution, in order ('carv4').</summary>
    public static readonly string[] Pdcs = [.. Enumerable.Repeat<string[]>(["cd", "ad", "rd", "cv"], 4).SelectMany(p => p)];

    /// <summary>The blocks after the init block: name, input and output channels, and whether it pools first (stride 2).</summary>
    public static readonly (string Name, int Inputs, int Outputs, bool Pools)[] Blocks =
    [
        .. new[] { (1, 60, 60, 3), (2, 60, 120, 4), (3, 120, 240, 4), (4, 240, 240, 4) }.SelectMany(s =>
            Enumerable.Range(1, s.Item4).Select(j => ($"block{s.Item1}_{j}", j == 1 ? s.Item2 : s.Item3, s.Item3, j == 1 && s.Item1 > 1))),
    ];

    /// <summary>The last block of each stage, whose output feeds that stage's side output.</summary>
    public static readonly string[] StageEnds = ["block1_3", "block2_4", "block3_4", "block4_4"];

    /// <summary>The init block's features.</summary>
    public const int Features = 60;

    /// <summary>The CDCM's (dilation module's) features.</summary>
    public const int DilationFeatures = 24;

    /// <summary>The CDCM's four dilations.</summary>
    public static readonly int[] Dilations = [5, 7, 9, 11];

    private const string Prefix = "module.";
    private readonly SafetensorsFile _file;

    private PidinetCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names without the <c>module.</c> prefix.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>Every tensor name (without <c>module.</c>) and shape the network has.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        yield return ("init_block.weight", [Features, 3, 3, 3]);
        foreach (var (name, inputs, outputs, pools) in Blocks)
        {
            if (pools)
            {
                yield return ($"{name}.shortcut.weight", [outputs, inputs, 1, 1]);
                yield return ($"{name}.shortcut.bias", [outputs]);
            }

            yield return ($"{name}.conv1.weight", [inputs, 1, 3, 3]);
            yield return ($"{name}.conv2.weight", [outputs, inputs, 1, 1]);
        }

        for (var i = 0; i < StageEnds.Length; i++)
        {
            var channels = Blocks.Single(b => b.Name == StageEnds[i]).Outputs;
            yield return ($"dilations.{i}.conv1.weight", [DilationFeatures, channels, 1, 1]);
            yield return ($"dilations.{i}.conv1.bias", [DilationFeatures]);
            for (var k = 1; k <= Dilations.Length; k++) yield return ($"dilations.{i}.conv2_{k}.weight", [DilationFeatures, DilationFeatures, 3, 3]);
        }

        for (var i = 0; i < StageEnds.Length; i++)
        {
            yield return ($"attentions.{i}.conv1.weight", [4, DilationFeatures, 1, 1]);
            yield return ($"attentions.{i}.conv1.bias", [4]);
            yield return ($"attentions.{i}.conv2.weight", [1, 4, 3, 3]);
        }

        for (var i = 0; i < StageEnds.Length; i++)
        {
            yield return ($"conv_reduces.{i}.conv.weight", [1, DilationFeatures, 1, 1]);
            yield return ($"conv_reduces.{i}.conv.bias", [1]);
        }

        yield return ("classifier.weight", [1, StageEnds.Length, 1, 1]);
        yield return ("classifier.bias", [1]);
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not PiDiNet's table5 network.</summary>
    public static PidinetCheckpoint Open(string path)
    {
        SafetensorsFile file;
        try
        {
            file = SafetensorsFile.Open(path);
        }
        catch (SafetensorsException e)
        {
            throw new CheckpointException($"{path}: not a readable PiDiNet annotator (table5_pidinet.pth): {e.Message}");
        }

        try
        {
            var tensors = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
            foreach (var (name, shape) in Layout())
            {
                if (!file.Tensors.TryGetValue(Prefix + name, out var tensor) && !file.Tensors.TryGetValue(name, out tensor))
                    throw new CheckpointException($"{path}: tensor '{Prefix}{name}' is missing; not the PiDiNet annotator (table5_pidinet.pth: carv4 with CDCM and CSAM, its state_dict's keys module.init_block, module.block1_1 … module.classifier).");
                if (!tensor.Shape.SequenceEqual(shape))
                    throw new CheckpointException($"{path}: tensor '{tensor.Name}' is [{string.Join(", ", tensor.Shape)}]; the PiDiNet annotator's is [{string.Join(", ", shape)}].");
                tensors[name] = new StoredTensor(file, tensor, shape);
            }

            return new PidinetCheckpoint(file, path, tensors);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The ONNX graph: <c>image</c> [1, 3, h, w] (RGB 0..255) → <c>edges</c> [1, 1, h, w], the fused output's sigmoid (h, w multiples of 8).</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => PidinetGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
