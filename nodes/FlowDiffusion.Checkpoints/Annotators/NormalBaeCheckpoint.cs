using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// NormalBAE's weights (<c>scannet.pt</c> of lllyasviel/Annotators: Bae et al. 2021's NNET trained on ScanNet, the file
/// comfyui_controlnet_aux's NormalBaeDetector and sd-webui-controlnet's normal_bae load): <c>{"model": state dict}</c>
/// with DataParallel's <c>module.</c> keys (read off, as both loaders do). The encoder <c>encoder.original_model.</c> is
/// geffnet's <c>tf_efficientnet_b5_ap</c> (stem 48, seven stages, head 2048; its classifier removed), the decoder
/// <c>decoder.</c> a 1×1 <c>conv2</c>, four upsampling blocks <c>up1…up4</c> (two 3×3 convolutions with BatchNorm each),
/// <c>out_conv_res8</c> and the three per-pixel refinement MLPs <c>out_conv_res4/2/1</c> (Conv1d weights [out, in, 1]).
/// About 72.6 million weights; every tensor is checked by name and shape on open (<c>bn2</c> after the head is in the file
/// and checked, though the decoder reads the head's output before it; <c>num_batches_tracked</c> are not read).
/// </summary>
public sealed class NormalBaeCheckpoint : IDisposable
{
    /// <summary>The annotator and its file, for messages.</summary>
    public const string What = "NormalBAE annotator (scannet.pt, NNET's encoder.original_model.* and decoder.*)";

    /// <summary>The encoder's key prefix.</summary>
    public const string Encoder = "encoder.original_model.";

    /// <summary>The stem's channels.</summary>
    public const int Stem = 48;

    /// <summary>The head's channels (the decoder's deepest input).</summary>
    public const int Head = 2048;

    /// <summary>
    /// EfficientNet-B5's stages (channel multiplier 1.6, depth 2.2): depthwise-separable (expansion 1) or inverted residual
    /// (6), blocks, kernel, the first block's stride, output channels.
    /// </summary>
    public static readonly (int Expansion, int Blocks, int Kernel, int Stride, int Channels)[] Stages =
        [(1, 3, 3, 1, 24), (6, 5, 3, 2, 40), (6, 5, 5, 2, 64), (6, 7, 3, 2, 128), (6, 7, 5, 1, 176), (6, 9, 5, 2, 304), (6, 3, 3, 1, 512)];

    /// <summary>The stages whose last block's output the decoder takes as skips (1/2, 1/4, 1/8, 1/16), deepest last.</summary>
    public static readonly int[] SkipStages = [0, 1, 2, 4];

    /// <summary>The upsampling blocks' output channels (up1…up4).</summary>
    public static readonly int[] UpFeatures = [1024, 512, 256, 128];

    /// <summary>The refinement MLPs (1/4, 1/2, 1/1) and the upsampling block whose output each reads.</summary>
    public static readonly (string Name, int Up)[] Refinements = [("out_conv_res4", 1), ("out_conv_res2", 2), ("out_conv_res1", 3)];

    /// <summary>The refinement MLPs' hidden width.</summary>
    public const int Hidden = 128;

    /// <summary>The encoder's BatchNorm epsilon (TensorFlow's default, geffnet's BN_EPS_TF_DEFAULT).</summary>
    public const float EncoderEpsilon = 1e-3f;

    /// <summary>The decoder's BatchNorm epsilon (torch's default).</summary>
    public const float DecoderEpsilon = 1e-5f;

    private readonly SafetensorsFile _file;

    private NormalBaeCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names without <c>module.</c>.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The encoder's blocks in order: name, depthwise-separable or not, input, expanded and output channels, kernel, stride.</summary>
    public static IEnumerable<(string Name, bool Separable, int Inputs, int Mid, int Outputs, int Kernel, int Stride)> Blocks()
    {
        var inputs = Stem;
        for (var s = 0; s < Stages.Length; s++)
        {
            var (expansion, blocks, kernel, stride, channels) = Stages[s];
            for (var b = 0; b < blocks; b++)
            {
                yield return ($"{Encoder}blocks.{s}.{b}", expansion == 1, inputs, inputs * expansion, channels, kernel, b == 0 ? stride : 1);
                inputs = channels;
            }
        }
    }

    /// <summary>Every tensor name and shape the network has, in the state dict's order.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        IEnumerable<(string, long[])> Norm(string name, long channels) =>
            new[] { "weight", "bias", "running_mean", "running_var" }.Select(p => ($"{name}.{p}", new[] { channels }));
        IEnumerable<(string, long[])> Conv(string name, long outputs, long inputs, long kernel, bool bias = false) =>
            bias ? [($"{name}.weight", [outputs, inputs, kernel, kernel]), ($"{name}.bias", [outputs])] : [($"{name}.weight", [outputs, inputs, kernel, kernel])];

        var tensors = new List<(string, long[])>();
        tensors.AddRange(Conv($"{Encoder}conv_stem", Stem, 3, 3));
        tensors.AddRange(Norm($"{Encoder}bn1", Stem));
        foreach (var (name, separable, inputs, mid, outputs, kernel, _) in Blocks())
        {
            // Squeeze-excite on the expanded map, reduced to a quarter of the block's input channels.
            var se = Conv($"{name}.se.conv_reduce", inputs / 4, mid, 1, bias: true).Concat(Conv($"{name}.se.conv_expand", mid, inputs / 4, 1, bias: true));
            if (separable)
            {
                tensors.AddRange(Conv($"{name}.conv_dw", inputs, 1, kernel).Concat(Norm($"{name}.bn1", inputs)).Concat(se));
                tensors.AddRange(Conv($"{name}.conv_pw", outputs, inputs, 1).Concat(Norm($"{name}.bn2", outputs)));
            }
            else
            {
                tensors.AddRange(Conv($"{name}.conv_pw", mid, inputs, 1).Concat(Norm($"{name}.bn1", mid)));
                tensors.AddRange(Conv($"{name}.conv_dw", mid, 1, kernel).Concat(Norm($"{name}.bn2", mid)).Concat(se));
                tensors.AddRange(Conv($"{name}.conv_pwl", outputs, mid, 1).Concat(Norm($"{name}.bn3", outputs)));
            }
        }

        tensors.AddRange(Conv($"{Encoder}conv_head", Head, Stages[^1].Channels, 1));
        tensors.AddRange(Norm($"{Encoder}bn2", Head));
        tensors.AddRange(Conv("decoder.conv2", Head, Head, 1, bias: true));
        long deeper = Head;
        for (var i = 0; i < UpFeatures.Length; i++)
        {
            var prefix = $"decoder.up{i + 1}._net.";
            long skip = Stages[SkipStages[^(i + 1)]].Channels, outputs = UpFeatures[i];
            tensors.AddRange(Conv(prefix + "0", outputs, deeper + skip, 3, bias: true).Concat(Norm(prefix + "1", outputs)));
            tensors.AddRange(Conv(prefix + "3", outputs, outputs, 3, bias: true).Concat(Norm(prefix + "4", outputs)));
            deeper = outputs;
        }

        tensors.AddRange(Conv("decoder.out_conv_res8", 4, UpFeatures[1], 3, bias: true));
        foreach (var (name, up) in Refinements)
        {
            long[] widths = [UpFeatures[up] + 4, Hidden, Hidden, Hidden, 4];
            for (var j = 0; j < 4; j++)
            {
                // Conv1d: [out, in, 1].
                tensors.Add(($"decoder.{name}.{2 * j}.weight", [widths[j + 1], widths[j], 1]));
                tensors.Add(($"decoder.{name}.{2 * j}.bias", [widths[j + 1]]));
            }
        }

        return tensors;
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not NormalBAE's.</summary>
    public static NormalBaeCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), What, stripModule: true, outer: "model");
        return new NormalBaeCheckpoint(file, path, tensors);
    }

    /// <summary>The ONNX graph: <c>image</c> [1, 3, h, w] (ImageNet-normalised RGB, sides multiples of 32) → <c>normal</c> [1, 3, h, w], the unit normal (x, y, z).</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => NormalBaeGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
