using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// The ControlNet annotators' lineart generator (informative-drawings' <c>Generator(3, 1, 3)</c>; lllyasviel's
/// <c>sk_model.pth</c>, realistic, and <c>sk_model2.pth</c>, coarse, which comfyui_controlnet_aux and
/// sd-webui-controlnet download): <c>model0.1</c> a 7×7 convolution to 64 features, <c>model1.0</c> and <c>model1.3</c>
/// two stride-2 3×3 convolutions to 128 and 256, three residual blocks <c>model2.N.conv_block.1</c> and <c>.5</c>
/// (3×3, 256), <c>model3.0</c> and <c>model3.3</c> two stride-2 3×3 transposed convolutions back to 64, <c>model4.1</c>
/// a 7×7 convolution to one channel. Its instance norms have no weights. Every key and shape is checked on open.
/// </summary>
public sealed class LineartCheckpoint : IDisposable
{
    /// <summary>The residual blocks.</summary>
    public const int ResidualBlocks = 3;

    private const string What = "lineart annotator (sk_model.pth / sk_model2.pth, informative-drawings' Generator with keys model0…model4)";
    private readonly SafetensorsFile _file;

    private LineartCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
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
        IEnumerable<(string, long[])> Conv(string name, long outputs, long inputs, long kernel) =>
            [($"{name}.weight", [outputs, inputs, kernel, kernel]), ($"{name}.bias", [outputs])];
        // A transposed convolution's weight is [inputs, outputs, k, k].
        IEnumerable<(string, long[])> Transposed(string name, long inputs, long outputs) =>
            [($"{name}.weight", [inputs, outputs, 3, 3]), ($"{name}.bias", [outputs])];
        return
        [
            .. Conv("model0.1", 64, 3, 7),
            .. Conv("model1.0", 128, 64, 3),
            .. Conv("model1.3", 256, 128, 3),
            .. Enumerable.Range(0, ResidualBlocks).SelectMany(b => Conv($"model2.{b}.conv_block.1", 256, 256, 3).Concat(Conv($"model2.{b}.conv_block.5", 256, 256, 3))),
            .. Transposed("model3.0", 256, 128),
            .. Transposed("model3.3", 128, 64),
            .. Conv("model4.1", 1, 64, 7),
        ];
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not the lineart generator.</summary>
    public static LineartCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), What);
        return new LineartCheckpoint(file, path, tensors);
    }

    /// <summary>The ONNX graph: <c>image</c> [1, 3, h, w] (RGB 0..255) → <c>line</c> [1, 1, h, w] (the sigmoid, 0..1; h, w multiples of 4).</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => LineartGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
