using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// CMU's OpenPose hand network as the ControlNet annotators load it (lllyasviel's <c>hand_pose_model.pth</c>, which
/// comfyui_controlnet_aux and sd-webui-controlnet download; keys without the torch module's block prefix): the
/// <see cref="OpenPoseCpmLayout"/> it shares with the face network, each stage ending in 22 heatmaps (21 hand points and the
/// background). Read from <c>.pth</c> or <c>.safetensors</c>; every key and shape is checked on open.
/// </summary>
public sealed class OpenPoseHandCheckpoint : IDisposable
{
    /// <summary>The heatmap channels (21 hand points and the background).</summary>
    public const int HeatmapChannels = 22;

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

    /// <summary>Every tensor name and shape the network has, in the state dict's order (<see cref="OpenPoseCpmLayout"/> with 22 heatmaps).</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout() => OpenPoseCpmLayout.Layout(HeatmapChannels);

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not the OpenPose hand network.</summary>
    public static OpenPoseHandCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), "OpenPose hand annotator (hand_pose_model.pth: conv1_1…conv5_3_CPM, conv6_1/6_2_CPM, Mconv1…7_stage2…6)", stripModule: true);
        return new OpenPoseHandCheckpoint(file, path, tensors);
    }

    /// <summary>The ONNX graph: <c>image</c> [1, 3, h, w] (RGB 0..255, h and w multiples of 8) → <c>heatmaps</c> [1, 22, h/8, w/8], stage 6's output.</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => OpenPoseCpmGraph.Build("openpose_hand", HeatmapChannels, Tensors, Source, binding,
        $"OpenPose hand annotator built from {Path.GetFileName(Source)}: stage 6's heatmaps at 1/8 of the input.");

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
