using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// CMU's OpenPose face network as the ControlNet annotators load it (lllyasviel's <c>facenet.pth</c>, which
/// comfyui_controlnet_aux and sd-webui-controlnet download; a plain state dict of <c>FaceNet</c>): the
/// <see cref="OpenPoseCpmLayout"/> it shares with the hand network, each stage ending in 71 heatmaps (70 face points and the
/// background). Read from <c>.pth</c> or <c>.safetensors</c>; every key and shape is checked on open.
/// </summary>
public sealed class OpenPoseFaceCheckpoint : IDisposable
{
    /// <summary>The heatmap channels (70 face points and the background).</summary>
    public const int HeatmapChannels = 71;

    private readonly SafetensorsFile _file;

    private OpenPoseFaceCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names in the file.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>Every tensor name and shape the network has, in the state dict's order (<see cref="OpenPoseCpmLayout"/> with 71 heatmaps).</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout() => OpenPoseCpmLayout.Layout(HeatmapChannels);

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not the OpenPose face network.</summary>
    public static OpenPoseFaceCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), "OpenPose face annotator (facenet.pth: conv1_1…conv5_3_CPM, conv6_1/6_2_CPM, Mconv1…7_stage2…6, 71 heatmaps)", stripModule: true);
        return new OpenPoseFaceCheckpoint(file, path, tensors);
    }

    /// <summary>The ONNX graph: <c>image</c> [1, 3, h, w] (RGB 0..255, h and w multiples of 8) → <c>heatmaps</c> [1, 71, h/8, w/8], stage 6's output.</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => OpenPoseCpmGraph.Build("openpose_face", HeatmapChannels, Tensors, Source, binding,
        $"OpenPose face annotator built from {Path.GetFileName(Source)}: stage 6's heatmaps at 1/8 of the input.");

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
