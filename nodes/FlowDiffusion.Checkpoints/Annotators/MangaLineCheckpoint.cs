using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// MangaLineExtraction's <c>res_skip</c> network (ljsabc/MangaLineExtraction_PyTorch; <c>erika.pth</c> of lllyasviel/Annotators,
/// which comfyui_controlnet_aux's Manga2Anime_LineArt_Preprocessor and sd-webui-controlnet's lineart_anime_denoise download):
/// ten residual blocks <c>block0…9</c> of units (<c>model.N</c>) with <c>conv1</c> and <c>residual</c>, each a BatchNorm
/// (<c>model.0</c>) and a convolution (<c>model.2</c>), and a 1×1 <c>shortcut.model.0</c> where the channels or the stride
/// change; then <c>conv15</c>, a BatchNorm and a 1×1 convolution to one channel. About 43 million weights; read from
/// <c>.pth</c> or <c>.safetensors</c>, keys with DataParallel's <c>module.</c> read as the annotators' loaders read them;
/// every key and shape is checked on open (BatchNorm's <c>num_batches_tracked</c> is not read).
/// </summary>
public sealed class MangaLineCheckpoint : IDisposable
{
    /// <summary>
    /// The blocks in order: input channels, features, units and role (the encoder's last unit at stride 2, the decoder's
    /// first unit followed by ×2 nearest upsampling, or neither).
    /// </summary>
    public static readonly (int Inputs, int Features, int Units, MangaLineBlock Role)[] Blocks =
    [
        (1, 24, 2, MangaLineBlock.Plain), (24, 48, 3, MangaLineBlock.Down), (48, 96, 5, MangaLineBlock.Down), (96, 192, 7, MangaLineBlock.Down),
        (192, 384, 12, MangaLineBlock.Down), (384, 192, 7, MangaLineBlock.Up), (192, 96, 5, MangaLineBlock.Up), (96, 48, 3, MangaLineBlock.Up),
        (48, 24, 2, MangaLineBlock.Up), (24, 16, 2, MangaLineBlock.Plain),
    ];

    /// <summary>How many times the encoder halves the sides (the sides must be multiples of 2 to this power).</summary>
    public const int Halvings = 4;

    private readonly SafetensorsFile _file;

    private MangaLineCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names in the file (without <c>module.</c>).</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>Unit <paramref name="unit"/> of block <paramref name="block"/>: its inputs, stride, whether it upsamples and whether it has a shortcut convolution.</summary>
    public static (int Inputs, int Stride, bool Upsamples, bool Shortcut) Unit(int block, int unit)
    {
        var (inputs, features, units, role) = Blocks[block];
        var unitInputs = unit == 0 ? inputs : features;
        var stride = role == MangaLineBlock.Down && unit == units - 1 ? 2 : 1;
        return (unitInputs, stride, role == MangaLineBlock.Up && unit == 0, unitInputs != features || stride != 1);
    }

    /// <summary>Every tensor name and shape the network reads.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        IEnumerable<(string, long[])> BnConv(string name, long inputs, long outputs, long kernel)
        {
            foreach (var part in new[] { "weight", "bias", "running_mean", "running_var" }) yield return ($"{name}.model.0.{part}", [inputs]);
            yield return ($"{name}.model.2.weight", [outputs, inputs, kernel, kernel]);
            yield return ($"{name}.model.2.bias", [outputs]);
        }

        for (var b = 0; b < Blocks.Length; b++)
        {
            var features = Blocks[b].Features;
            for (var u = 0; u < Blocks[b].Units; u++)
            {
                var prefix = $"block{b}.model.{u}";
                var (inputs, _, _, shortcut) = Unit(b, u);
                foreach (var tensor in BnConv($"{prefix}.conv1", inputs, features, 3)) yield return tensor;
                foreach (var tensor in BnConv($"{prefix}.residual", features, features, 3)) yield return tensor;
                if (!shortcut) continue;
                yield return ($"{prefix}.shortcut.model.0.weight", [features, inputs, 1, 1]);
                yield return ($"{prefix}.shortcut.model.0.bias", [features]);
            }
        }

        foreach (var tensor in BnConv("conv15", Blocks[^1].Features, 1, 1)) yield return tensor;
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not MangaLineExtraction's network.</summary>
    public static MangaLineCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), "manga line annotator (erika.pth, MangaLineExtraction's res_skip with block0…9 and conv15)", stripModule: true);
        return new MangaLineCheckpoint(file, path, tensors);
    }

    /// <summary>The ONNX graph: <c>image</c> [1, 3, h, w] whose first channel is the grey 0..255 image → <c>line</c> [1, 1, h, w], the line drawing on 0..255 unclipped (h, w multiples of 16).</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => MangaLineGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
