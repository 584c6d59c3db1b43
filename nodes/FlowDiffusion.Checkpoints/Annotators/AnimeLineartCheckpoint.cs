using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// The ControlNet annotators' anime lineart network (pix2pix's <c>UnetGenerator(3, 1, 8, 64)</c> with instance norms;
/// lllyasviel's <c>netG.pth</c>, which comfyui_controlnet_aux and sd-webui-controlnet download): eight 4×4 stride-2
/// convolutions down (64, 128, 256, 512, 512, 512, 512, 512 features) and eight 4×4 stride-2 transposed convolutions up,
/// nested as <c>model.model.1.model.3.model…</c>, every one with a bias. Keys may carry DataParallel's <c>module.</c>, which
/// the annotators' loaders remove. Every key and shape is checked on open.
/// </summary>
public sealed class AnimeLineartCheckpoint : IDisposable
{
    /// <summary>Each level's (outer, inner) features, outermost first; the outermost takes the RGB image and gives one channel.</summary>
    public static readonly (int Outer, int Inner)[] Levels = [(1, 64), (64, 128), (128, 256), (256, 512), (512, 512), (512, 512), (512, 512), (512, 512)];

    private const string What = "anime lineart annotator (netG.pth, pix2pix's UnetGenerator with keys model.model…)";
    private readonly SafetensorsFile _file;

    private AnimeLineartCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names without <c>module.</c>.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The key prefix of level <paramref name="level"/>'s block (0 the outermost).</summary>
    public static string Prefix(int level) => level == 0 ? "model.model" : "model.model.1.model" + string.Concat(Enumerable.Repeat(".3.model", level - 1));

    /// <summary>Every tensor name and shape the network has, in state-dict order.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout() => Level(0);

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not the anime lineart network.</summary>
    public static AnimeLineartCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), What, stripModule: true);
        return new AnimeLineartCheckpoint(file, path, tensors);
    }

    /// <summary>The ONNX graph: <c>image</c> [1, 3, h, w] (RGB 0..255; h, w multiples of 256) → <c>line</c> [1, 1, h, w] (the tanh, −1..1).</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => AnimeLineartGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    // A level's down convolution, the levels inside it, then its up (transposed, [in, out, 4, 4]) convolution.
    private static IEnumerable<(string Name, long[] Shape)> Level(int level)
    {
        var (outer, inner) = Levels[level];
        var prefix = Prefix(level);
        var innermost = level == Levels.Length - 1;
        var (down, up) = level == 0 ? ("0", "3") : innermost ? ("1", "3") : ("1", "5");
        yield return ($"{prefix}.{down}.weight", [inner, level == 0 ? 3 : outer, 4, 4]);
        yield return ($"{prefix}.{down}.bias", [inner]);
        if (!innermost)
            foreach (var tensor in Level(level + 1)) yield return tensor;
        yield return ($"{prefix}.{up}.weight", [innermost ? inner : 2 * inner, outer, 4, 4]);
        yield return ($"{prefix}.{up}.bias", [outer]);
    }
}
