using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// LeReS's depth network (<c>res101.pth</c> of lllyasviel/Annotators: AdelaiDepth's RelDepthModel with the ResNeXt-101
/// 32x8d encoder, the file comfyui_controlnet_aux's LeresDetector and sd-webui-controlnet's depth_leres load):
/// <c>{"depth_model": state dict}</c>, a leading DataParallel <c>module.</c> read off as both loaders do. The encoder
/// <c>depth_model.encoder_modules.encoder.</c> is torchvision's ResNeXt-101 32x8d without its pooling and classifier
/// (stem 64, layers of 3, 4, 23 and 3 bottlenecks, 32 groups of 8 × planes / 64 channels, 256…2048 outputs); the decoder
/// <c>depth_model.decoder_modules.</c> is FTB <c>conv</c>, <c>conv1</c>, the fusion modules <c>ffm2…ffm0</c> (two FTBs each)
/// and the output module <c>outconv</c>. About 115.6 million weights; every tensor is checked by name and shape on open
/// (<c>num_batches_tracked</c> are not read).
/// </summary>
public sealed class LeresCheckpoint : IDisposable
{
    /// <summary>The annotator and its file, for messages.</summary>
    public const string What = "LeReS annotator (res101.pth, RelDepthModel's depth_model.encoder_modules.* and depth_model.decoder_modules.*)";

    /// <summary>The encoder's key prefix.</summary>
    public const string Encoder = "depth_model.encoder_modules.encoder.";

    /// <summary>The decoder's key prefix.</summary>
    public const string Decoder = "depth_model.decoder_modules.";

    /// <summary>ResNeXt-101 32x8d's layers: planes and bottlenecks (width = planes × 4 in 32 groups, output = planes × 4).</summary>
    public static readonly (int Planes, int Blocks)[] Layers = [(64, 3), (128, 4), (256, 23), (512, 3)];

    /// <summary>The grouped 3 × 3 convolutions' groups.</summary>
    public const int Groups = 32;

    /// <summary>Every BatchNorm's epsilon (torch's default).</summary>
    public const float Epsilon = 1e-5f;

    /// <summary>The fusion modules from deep to shallow: name and the encoder feature (layer output) it reads, with its channels.</summary>
    public static readonly (string Name, int Feature, int Channels)[] Fusions = [("ffm2", 2, 1024), ("ffm1", 1, 512), ("ffm0", 0, 256)];

    private readonly SafetensorsFile _file;

    private LeresCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names without the outer <c>depth_model</c> entry and <c>module.</c>.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The encoder's bottlenecks in order: name, input, width and output channels, stride, projected shortcut.</summary>
    public static IEnumerable<(string Name, int Inputs, int Width, int Outputs, int Stride, bool Project)> Bottlenecks()
    {
        var inputs = 64;
        for (var l = 0; l < Layers.Length; l++)
        {
            var (planes, blocks) = Layers[l];
            for (var b = 0; b < blocks; b++)
            {
                yield return ($"{Encoder}layer{l + 1}.{b}", inputs, planes * 4, planes * 4, l > 0 && b == 0 ? 2 : 1, b == 0);
                inputs = planes * 4;
            }
        }
    }

    /// <summary>Every tensor name and shape the network has, in the state dict's order.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        IEnumerable<(string, long[])> Norm(string name, long channels) =>
            new[] { "weight", "bias", "running_mean", "running_var" }.Select(p => ($"{name}.{p}", new[] { channels }));
        IEnumerable<(string, long[])> Conv(string name, long outputs, long inputs, long kernel, bool bias = true) =>
            bias ? [($"{name}.weight", [outputs, inputs, kernel, kernel]), ($"{name}.bias", [outputs])] : [($"{name}.weight", [outputs, inputs, kernel, kernel])];
        IEnumerable<(string, long[])> Ftb(string name, long inputs, long mid) =>
            Conv($"{name}.conv1", mid, inputs, 3).Concat(Conv($"{name}.conv_branch.1", mid, mid, 3)).Concat(Norm($"{name}.conv_branch.2", mid))
                .Concat(Conv($"{name}.conv_branch.4", mid, mid, 3));

        var tensors = new List<(string, long[])>();
        tensors.AddRange(Conv($"{Encoder}conv1", 64, 3, 7, bias: false).Concat(Norm($"{Encoder}bn1", 64)));
        foreach (var (name, inputs, width, outputs, _, project) in Bottlenecks())
        {
            tensors.AddRange(Conv($"{name}.conv1", width, inputs, 1, bias: false).Concat(Norm($"{name}.bn1", width)));
            tensors.AddRange(Conv($"{name}.conv2", width, width / Groups, 3, bias: false).Concat(Norm($"{name}.bn2", width)));
            tensors.AddRange(Conv($"{name}.conv3", outputs, width, 1, bias: false).Concat(Norm($"{name}.bn3", outputs)));
            if (project) tensors.AddRange(Conv($"{name}.downsample.0", outputs, inputs, 1, bias: false).Concat(Norm($"{name}.downsample.1", outputs)));
        }

        tensors.AddRange(Ftb($"{Decoder}conv", 2048, 512).Concat(Conv($"{Decoder}conv1", 256, 512, 3)));
        foreach (var (name, _, channels) in Fusions)
            tensors.AddRange(Ftb($"{Decoder}{name}.ftb1", channels, 256).Concat(Ftb($"{Decoder}{name}.ftb2", 256, 256)));
        tensors.AddRange(Conv($"{Decoder}outconv.adapt_conv.0", 128, 256, 3).Concat(Norm($"{Decoder}outconv.adapt_conv.1", 128)));
        tensors.AddRange(Conv($"{Decoder}outconv.adapt_conv.3", 1, 128, 3));
        return tensors;
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not LeReS's.</summary>
    public static LeresCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), What, stripModule: true, outer: "depth_model");
        return new LeresCheckpoint(file, path, tensors);
    }

    /// <summary>The ONNX graph: <c>image</c> [1, 3, h, w] (BGR, 0..255 less the ImageNet mean over its std; sides multiples of 32) → <c>depth</c> [1, 1, h, w].</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => LeresGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
