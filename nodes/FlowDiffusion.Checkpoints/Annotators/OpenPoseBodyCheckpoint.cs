using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// The CMU OpenPose body network as the ControlNet annotators load it (lllyasviel's <c>body_pose_model.pth</c>, which
/// comfyui_controlnet_aux and sd-webui-controlnet download; keys without the torch module's block prefix): VGG-19's
/// <c>conv1_1</c>…<c>conv4_2</c> with three 2×2 max pools, <c>conv4_3_CPM</c> and <c>conv4_4_CPM</c> (128 features), then
/// stage 1 (<c>conv5_1…5_CPM_L1</c>/<c>_L2</c>) and stages 2–6 (<c>Mconv1…7_stageN_L1</c>/<c>_L2</c>), each with a part
/// affinity branch (L1, 38 channels) and a heatmap branch (L2, 19 channels). Read from <c>.pth</c> or <c>.safetensors</c>;
/// every key and shape is checked on open.
/// </summary>
public sealed class OpenPoseBodyCheckpoint : IDisposable
{
    /// <summary>The part affinity channels (two per limb).</summary>
    public const int PafChannels = 38;

    /// <summary>The heatmap channels (18 parts and the background).</summary>
    public const int HeatmapChannels = 19;

    /// <summary>The trunk's convolutions (name, inputs, outputs), all 3×3; a 2×2 max pool follows <c>conv1_2</c>, <c>conv2_2</c> and <c>conv3_4</c>.</summary>
    public static readonly (string Name, int Inputs, int Outputs)[] Trunk =
    [
        ("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128), ("conv2_2", 128, 128),
        ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
        ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3_CPM", 512, 256), ("conv4_4_CPM", 256, 128),
    ];

    /// <summary>The trunk convolutions after which the features are max-pooled.</summary>
    public static readonly string[] PooledAfter = ["conv1_2", "conv2_2", "conv3_4"];

    private readonly SafetensorsFile _file;

    private OpenPoseBodyCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names in the file.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>One branch's convolutions (name, inputs, outputs, kernel) of <paramref name="stage"/> (1–6); branch 1 is the PAF, 2 the heatmaps.</summary>
    public static IEnumerable<(string Name, int Inputs, int Outputs, int Kernel)> Branch(int stage, int branch)
    {
        var outputs = branch == 1 ? PafChannels : HeatmapChannels;
        if (stage == 1)
        {
            for (var i = 1; i <= 3; i++) yield return ($"conv5_{i}_CPM_L{branch}", 128, 128, 3);
            yield return ($"conv5_4_CPM_L{branch}", 128, 512, 1);
            yield return ($"conv5_5_CPM_L{branch}", 512, outputs, 1);
            yield break;
        }

        for (var i = 1; i <= 5; i++) yield return ($"Mconv{i}_stage{stage}_L{branch}", i == 1 ? PafChannels + HeatmapChannels + 128 : 128, 128, 7);
        yield return ($"Mconv6_stage{stage}_L{branch}", 128, 128, 1);
        yield return ($"Mconv7_stage{stage}_L{branch}", 128, outputs, 1);
    }

    /// <summary>Every tensor name and shape the network has, in the state dict's order.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        foreach (var (name, inputs, outputs) in Trunk)
        {
            yield return ($"{name}.weight", [outputs, inputs, 3, 3]);
            yield return ($"{name}.bias", [outputs]);
        }

        for (var stage = 1; stage <= 6; stage++)
        for (var branch = 1; branch <= 2; branch++)
        foreach (var (name, inputs, outputs, kernel) in Branch(stage, branch))
        {
            yield return ($"{name}.weight", [outputs, inputs, kernel, kernel]);
            yield return ($"{name}.bias", [outputs]);
        }
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not the OpenPose body network.</summary>
    public static OpenPoseBodyCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), "OpenPose body annotator (body_pose_model.pth: conv1_1…conv4_4_CPM, conv5_*_CPM_L1/L2, Mconv1…7_stage2…6_L1/L2)", stripModule: true);
        return new OpenPoseBodyCheckpoint(file, path, tensors);
    }

    /// <summary>
    /// The ONNX graph: <c>image</c> [1, 3, h, w] (RGB 0..255, h and w multiples of 8) → <c>pafs</c> [1, 38, h/8, w/8] and
    /// <c>heatmaps</c> [1, 19, h/8, w/8], stage 6's outputs.
    /// </summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => OpenPoseBodyGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
