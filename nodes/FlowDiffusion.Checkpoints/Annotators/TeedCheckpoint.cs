using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// TEED, the tiny efficient edge detector (xavysp/TEED's <c>TED</c>; <c>7_model.pth</c> of bdsqlsz/qinglong_controlnet-lllite,
/// which comfyui_controlnet_aux's TEEDPreprocessor and sd-webui-controlnet's softedge_teed download): two double-convolution
/// blocks (<c>block_1</c> 3→16 at stride 2, <c>block_2</c> 16→32), the 1×1 skips <c>side_1</c> and <c>pre_dense_3</c>, one
/// dense layer <c>dblock_3.denselayer1</c> (32→48), three upsampling blocks <c>up_block_1…3</c> (1×1 convolutions and
/// transposed convolutions in <c>features</c>) and the fusion <c>block_cat</c> (two depthwise 3×3 convolutions). About 58
/// thousand weights; read from <c>.pth</c> or <c>.safetensors</c>; every key and shape is checked on open.
/// </summary>
public sealed class TeedCheckpoint : IDisposable
{
    /// <summary>The upsampling blocks: input features and how many ×2 steps (the last step ends at one channel, the others have 16).</summary>
    public static readonly (int Inputs, int Steps)[] UpBlocks = [(16, 1), (32, 1), (48, 2)];

    /// <summary>The features between an upsampling block's steps.</summary>
    public const int UpFeatures = 16;

    /// <summary>The fusion's channels after its first depthwise convolution (8 per input channel).</summary>
    public const int FusionFeatures = 24;

    private readonly SafetensorsFile _file;

    private TeedCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names in the file.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The features after upsampling step <paramref name="step"/> of a block of <paramref name="steps"/>.</summary>
    public static int UpStepFeatures(int step, int steps) => step == steps - 1 ? 1 : UpFeatures;

    /// <summary>The transposed convolution's kernel (and its padding) in a block of <paramref name="steps"/> steps: 2 (0) for one, 4 (1) for two.</summary>
    public static (int Kernel, int Pad) UpKernel(int steps) => (1 << steps, steps == 1 ? 0 : 1);

    /// <summary>Every tensor name and shape the network has.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        IEnumerable<(string, long[])> Conv(string name, long outputs, long inputs, long kernel)
        {
            yield return ($"{name}.weight", [outputs, inputs, kernel, kernel]);
            yield return ($"{name}.bias", [outputs]);
        }

        var convs = new[]
        {
            Conv("block_1.conv1", 16, 3, 3), Conv("block_1.conv2", 16, 16, 3),
            Conv("block_2.conv1", 32, 16, 3), Conv("block_2.conv2", 32, 32, 3),
            Conv("dblock_3.denselayer1.conv1", 48, 32, 3), Conv("dblock_3.denselayer1.conv2", 48, 48, 3),
            Conv("side_1.conv", 32, 16, 1), Conv("pre_dense_3.conv", 48, 32, 1),
        };
        foreach (var tensor in convs.SelectMany(c => c)) yield return tensor;
        for (var b = 0; b < UpBlocks.Length; b++)
        {
            var (inputs, steps) = UpBlocks[b];
            var kernel = UpKernel(steps).Kernel;
            for (var i = 0; i < steps; i++)
            {
                var outputs = UpStepFeatures(i, steps);
                foreach (var tensor in Conv($"up_block_{b + 1}.features.{3 * i}", outputs, inputs, 1)) yield return tensor;
                // ConvTranspose2d stores [inputs, outputs, k, k].
                foreach (var tensor in Conv($"up_block_{b + 1}.features.{3 * i + 2}", outputs, outputs, kernel)) yield return tensor;
                inputs = outputs;
            }
        }

        // Depthwise: [outputs, 1, 3, 3].
        foreach (var tensor in Conv("block_cat.DWconv1", FusionFeatures, 1, 3)) yield return tensor;
        foreach (var tensor in Conv("block_cat.DWconv2", FusionFeatures, 1, 3)) yield return tensor;
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not TEED.</summary>
    public static TeedCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), "TEED annotator (7_model.pth, TED's keys block_1, block_2, dblock_3, side_1, pre_dense_3, up_block_1…3, block_cat)");
        return new TeedCheckpoint(file, path, tensors);
    }

    /// <summary>The ONNX graph: <c>image</c> [1, 3, h, w] (RGB 0..255) → <c>edges</c> [1, 1, h, w], the mean of the four outputs before the sigmoid (h, w multiples of 8).</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => TeedGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
