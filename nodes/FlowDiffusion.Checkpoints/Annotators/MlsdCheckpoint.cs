using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// The M-LSD straight-line annotator (MobileV2_MLSD_Large; lllyasviel's <c>mlsd_large_512_fp32.pth</c>, which
/// comfyui_controlnet_aux and sd-webui-controlnet download): <c>backbone.features.0…13</c>, MobileNetV2's first convolution
/// (4 → 32, stride 2) and inverted residual blocks up to 96 features, each convolution followed by a BatchNorm; then the
/// decoder <c>block15…22</c> (BlockTypeA: two 1×1 convolutions; BlockTypeB: two 3×3 convolutions) and <c>block23</c>
/// (BlockTypeC: a dilated 3×3, a 3×3 and a 1×1 to 16 channels). Read from <c>.pth</c> or <c>.safetensors</c>; every key and
/// shape is checked on open (the BatchNorms' <c>num_batches_tracked</c> are not read).
/// </summary>
public sealed class MlsdCheckpoint : IDisposable
{
    /// <summary>The backbone's inverted residual settings (expansion, features, repeats, first stride), MobileNetV2's up to 96 features.</summary>
    public static readonly (int Expansion, int Features, int Repeats, int Stride)[] Residuals = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)];

    /// <summary>The decoder's BlockTypeA blocks: name, the skip feature's channels (features index), whether the deeper map is upscaled ×2.</summary>
    public static readonly (string Name, int SkipChannels, int DeepChannels, bool Upscale)[] Merges =
        [("block15", 64, 96, false), ("block17", 32, 64, true), ("block19", 24, 64, true), ("block21", 16, 64, true)];

    /// <summary>The backbone features whose outputs the decoder reads (c1…c5).</summary>
    public static readonly int[] Taps = [1, 3, 6, 10, 13];

    private readonly SafetensorsFile _file;

    private MlsdCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names in the file.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The backbone's blocks after the first convolution: (features index, inputs, hidden, outputs, stride, expands).</summary>
    public static IEnumerable<(int Index, int Inputs, int Hidden, int Outputs, int Stride, bool Expands)> Blocks()
    {
        var (inputs, index) = (32, 1);
        foreach (var (t, c, n, s) in Residuals)
        {
            for (var i = 0; i < n; i++)
            {
                yield return (index++, inputs, inputs * t, c, i == 0 ? s : 1, t != 1);
                inputs = c;
            }
        }
    }

    /// <summary>Every tensor name and shape the network has.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        static IEnumerable<(string, long[])> Norm(string name, long channels) =>
            [($"{name}.weight", [channels]), ($"{name}.bias", [channels]), ($"{name}.running_mean", [channels]), ($"{name}.running_var", [channels])];

        static IEnumerable<(string, long[])> Conv(string name, long outputs, long inputs, long kernel, bool bias) =>
            bias ? [($"{name}.weight", [outputs, inputs, kernel, kernel]), ($"{name}.bias", [outputs])] : [($"{name}.weight", [outputs, inputs, kernel, kernel])];

        var all = new List<(string, long[])>();
        all.AddRange(Conv("backbone.features.0.0", 32, 4, 3, false));
        all.AddRange(Norm("backbone.features.0.1", 32));
        foreach (var (index, inputs, hidden, outputs, _, expands) in Blocks())
        {
            var p = $"backbone.features.{index}.conv";
            var j = 0;
            if (expands)
            {
                all.AddRange(Conv($"{p}.0.0", hidden, inputs, 1, false));
                all.AddRange(Norm($"{p}.0.1", hidden));
                j = 1;
            }

            all.AddRange(Conv($"{p}.{j}.0", hidden, 1, 3, false));
            all.AddRange(Norm($"{p}.{j}.1", hidden));
            all.AddRange(Conv($"{p}.{j + 1}", outputs, hidden, 1, false));
            all.AddRange(Norm($"{p}.{j + 2}", outputs));
        }

        for (var m = 0; m < Merges.Length; m++)
        {
            var (name, skip, deep, _) = Merges[m];
            all.AddRange(Conv($"{name}.conv1.0", 64, deep, 1, true));
            all.AddRange(Norm($"{name}.conv1.1", 64));
            all.AddRange(Conv($"{name}.conv2.0", 64, skip, 1, true));
            all.AddRange(Norm($"{name}.conv2.1", 64));
            var b = $"block{16 + 2 * m}";
            all.AddRange(Conv($"{b}.conv1.0", 128, 128, 3, true));
            all.AddRange(Norm($"{b}.conv1.1", 128));
            all.AddRange(Conv($"{b}.conv2.0", 64, 128, 3, true));
            all.AddRange(Norm($"{b}.conv2.1", 64));
        }

        all.AddRange(Conv("block23.conv1.0", 64, 64, 3, true));
        all.AddRange(Norm("block23.conv1.1", 64));
        all.AddRange(Conv("block23.conv2.0", 64, 64, 3, true));
        all.AddRange(Norm("block23.conv2.1", 64));
        all.AddRange(Conv("block23.conv3", 16, 64, 1, true));
        return all;
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not the M-LSD network.</summary>
    public static MlsdCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), "M-LSD annotator (mlsd_large_512_fp32.pth, MobileV2_MLSD_Large's keys backbone.features.0…13 and block15…23)");
        return new MlsdCheckpoint(file, path, tensors);
    }

    /// <summary>
    /// The ONNX graph: <c>image</c> [1, 3, h, w] (RGB 0..255) → <c>lines</c> [1, 5, h/2, w/2], the centre logits and the
    /// four displacement maps (channels 7…11 of the network's 16; h, w multiples of 32).
    /// </summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => MlsdGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
