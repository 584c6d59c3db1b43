using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// CMU's OpenPose hand network as the ControlNet annotators load it (lllyasviel's <c>hand_pose_model.pth</c>, which
/// comfyui_controlnet_aux and sd-webui-controlnet download; keys without the torch module's block prefix): VGG-19's
/// <c>conv1_1</c>…<c>conv5_2</c> with three 2×2 max pools and <c>conv5_3_CPM</c> (128 features), stage 1's
/// <c>conv6_1_CPM</c>/<c>conv6_2_CPM</c> and stages 2–6 (<c>Mconv1…7_stageN</c> on the previous stage's 22 heatmaps and the
/// features), each ending in 22 heatmaps (21 hand points and the background). Read from <c>.pth</c> or <c>.safetensors</c>;
/// every key and shape is checked on open.
/// </summary>
public sealed class OpenPoseHandCheckpoint : IDisposable
{
    /// <summary>The heatmap channels (21 hand points and the background).</summary>
    public const int HeatmapChannels = 22;

    /// <summary>The trunk's 3×3 convolutions (name, inputs, outputs); a 2×2 max pool follows <c>conv1_2</c>, <c>conv2_2</c> and <c>conv3_4</c>.</summary>
    public static readonly (string Name, int Inputs, int Outputs)[] Trunk =
    [
        ("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128), ("conv2_2", 128, 128),
        ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
        ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512), ("conv4_4", 512, 512),
        ("conv5_1", 512, 512), ("conv5_2", 512, 512), ("conv5_3_CPM", 512, 128),
    ];

    /// <summary>The trunk convolutions after which the features are max-pooled.</summary>
    public static readonly string[] PooledAfter = ["conv1_2", "conv2_2", "conv3_4"];

    private readonly SafetensorsFile _file;

    private OpenPoseHandCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names in the file.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>Stage <paramref name="stage"/>'s convolutions (name, inputs, outputs, kernel): stage 1 on the features, stages 2–6 on the heatmaps and features.</summary>
    public static IEnumerable<(string Name, int Inputs, int Outputs, int Kernel)> Stage(int stage)
    {
        if (stage == 1)
        {
            yield return ("conv6_1_CPM", 128, 512, 1);
            yield return ("conv6_2_CPM", 512, HeatmapChannels, 1);
            yield break;
        }

        for (var i = 1; i <= 5; i++) yield return ($"Mconv{i}_stage{stage}", i == 1 ? HeatmapChannels + 128 : 128, 128, 7);
        yield return ($"Mconv6_stage{stage}", 128, 128, 1);
        yield return ($"Mconv7_stage{stage}", 128, HeatmapChannels, 1);
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
        foreach (var (name, inputs, outputs, kernel) in Stage(stage))
        {
            yield return ($"{name}.weight", [outputs, inputs, kernel, kernel]);
            yield return ($"{name}.bias", [outputs]);
        }
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not the OpenPose hand network.</summary>
    public static OpenPoseHandCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), "OpenPose hand annotator (hand_pose_model.pth: conv1_1…conv5_3_CPM, conv6_1/6_2_CPM, Mconv1…7_stage2…6)", stripModule: true);
        return new OpenPoseHandCheckpoint(file, path, tensors);
    }

    /// <summary>The ONNX graph: <c>image</c> [1, 3, h, w] (RGB 0..255, h and w multiples of 8) → <c>heatmaps</c> [1, 22, h/8, w/8], stage 6's output.</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => OpenPoseHandGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
