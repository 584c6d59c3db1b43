using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Taesd;

/// <summary>Which half of TAESD a file holds.</summary>
public enum TaesdPart
{
    /// <summary><c>taesd_encoder.pth</c>: image [0, 1] → scaled latents.</summary>
    Encoder,

    /// <summary><c>taesd_decoder.pth</c>: scaled latents → image [0, 1].</summary>
    Decoder,
}

/// <summary>One layer of TAESD's <c>nn.Sequential</c>, at its index in the state dict.</summary>
/// <param name="Kind">What it is.</param>
/// <param name="Inputs">Input channels (convolutions).</param>
/// <param name="Outputs">Output channels (convolutions).</param>
/// <param name="Bias">Whether the convolution has a bias.</param>
public readonly record struct TaesdLayer(TaesdLayerKind Kind, int Inputs = 0, int Outputs = 0, bool Bias = true);

/// <summary>The kinds of TAESD layer.</summary>
public enum TaesdLayerKind
{
    /// <summary><c>tanh(x / 3) · 3</c>.</summary>
    Clamp,

    /// <summary>A 3×3 convolution, padding 1.</summary>
    Conv,

    /// <summary>A 3×3 convolution with stride 2, padding 1, no bias (the encoder's downsampling).</summary>
    StridedConv,

    /// <summary>ReLU.</summary>
    Relu,

    /// <summary>conv-ReLU-conv-ReLU-conv (64 → 64, <c>N.conv.0/2/4</c>) plus the input, then ReLU.</summary>
    Block,

    /// <summary>Nearest-neighbour upsampling ×2.</summary>
    Upsample,
}

/// <summary>
/// One half of madebyollin's Tiny AutoEncoder for Stable Diffusion (TAESD; <c>taesd_encoder.pth</c>/<c>taesd_decoder.pth</c>,
/// <c>taesdxl_*</c> for SDXL: the same network, other weights), as ComfyUI keeps them in <c>models/vae_approx</c>: the
/// <c>nn.Sequential</c>'s state dict, keys <c>N.weight</c>/<c>N.bias</c> for a convolution at index N and
/// <c>N.conv.{0,2,4}.weight/bias</c> for a block. Read from <c>.pth</c> or <c>.safetensors</c>; every key and shape is checked on open.
/// </summary>
public sealed class TaesdCheckpoint : IDisposable
{
    /// <summary>The features every layer between the first and last convolutions has.</summary>
    public const int Features = 64;

    /// <summary>The latent channels of the SD 1.x and SDXL TAESDs.</summary>
    public const int LatentChannels = 4;

    private static readonly TaesdLayer Block = new(TaesdLayerKind.Block, Features, Features);
    private static readonly TaesdLayer Down = new(TaesdLayerKind.StridedConv, Features, Features, Bias: false);
    private static readonly TaesdLayer Up = new(TaesdLayerKind.Upsample);
    private static readonly TaesdLayer UpConv = new(TaesdLayerKind.Conv, Features, Features, Bias: false);

    /// <summary>The encoder's layers by index: conv(3, 64), a block, three times a strided conv and three blocks, conv(64, 4).</summary>
    public static IReadOnlyList<TaesdLayer> EncoderLayers { get; } =
    [
        new(TaesdLayerKind.Conv, 3, Features), Block,
        Down, Block, Block, Block,
        Down, Block, Block, Block,
        Down, Block, Block, Block,
        new(TaesdLayerKind.Conv, Features, LatentChannels),
    ];

    /// <summary>The decoder's layers by index: clamp, conv(4, 64), ReLU, three times three blocks, ×2 and a conv, then a block and conv(64, 3).</summary>
    public static IReadOnlyList<TaesdLayer> DecoderLayers { get; } =
    [
        new(TaesdLayerKind.Clamp), new(TaesdLayerKind.Conv, LatentChannels, Features), new(TaesdLayerKind.Relu),
        Block, Block, Block, Up, UpConv,
        Block, Block, Block, Up, UpConv,
        Block, Block, Block, Up, UpConv,
        Block, new(TaesdLayerKind.Conv, Features, 3),
    ];

    private readonly SafetensorsFile _file;

    private TaesdCheckpoint(SafetensorsFile file, string source, TaesdPart part, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Part = part;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>Which half it is.</summary>
    public TaesdPart Part { get; }

    /// <summary>The tensors by their names in the file.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The layers of <paramref name="part"/>.</summary>
    public static IReadOnlyList<TaesdLayer> Layers(TaesdPart part) => part == TaesdPart.Encoder ? EncoderLayers : DecoderLayers;

    /// <summary>Every tensor name and shape <paramref name="part"/> has.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout(TaesdPart part)
    {
        var layers = Layers(part);
        for (var i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            if (layer.Kind is TaesdLayerKind.Conv or TaesdLayerKind.StridedConv)
            {
                yield return ($"{i}.weight", [layer.Outputs, layer.Inputs, 3, 3]);
                if (layer.Bias) yield return ($"{i}.bias", [layer.Outputs]);
            }
            else if (layer.Kind == TaesdLayerKind.Block)
            {
                foreach (var j in new[] { 0, 2, 4 })
                {
                    yield return ($"{i}.conv.{j}.weight", [Features, Features, 3, 3]);
                    yield return ($"{i}.conv.{j}.bias", [Features]);
                }
            }
        }
    }

    /// <summary>Opens <paramref name="path"/> as <paramref name="part"/>; throws a <see cref="CheckpointException"/> naming the file and the tensor when it is not.</summary>
    public static TaesdCheckpoint Open(string path, TaesdPart part)
    {
        var what = part == TaesdPart.Encoder ? "TAESD encoder (taesd_encoder.pth)" : "TAESD decoder (taesd_decoder.pth)";
        SafetensorsFile file;
        try
        {
            file = SafetensorsFile.Open(path);
        }
        catch (SafetensorsException e)
        {
            throw new CheckpointException($"{path}: not a readable {what}: {e.Message}");
        }

        try
        {
            foreach (var (name, shape) in Layout(part))
            {
                if (!file.Tensors.TryGetValue(name, out var tensor))
                    throw new CheckpointException($"{path}: tensor '{name}' is missing; not a {what} (madebyollin's taesd/taesdxl files, as ComfyUI's models/vae_approx holds them).");
                if (!tensor.Shape.SequenceEqual(shape))
                    throw new CheckpointException($"{path}: tensor '{name}' is [{string.Join(", ", tensor.Shape)}]; the {what}'s is [{string.Join(", ", shape)}]"
                        + (name == "1.weight" || name == "14.weight" ? " (16-channel TAESDs, taesd3 and taef1, are not supported)." : "."));
            }

            var tensors = Layout(part).ToDictionary(t => t.Name, t => new StoredTensor(file, file.Tensors[t.Name], t.Shape), StringComparer.Ordinal);
            return new TaesdCheckpoint(file, path, part, tensors);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The ONNX graph in the diffusers-ONNX VAE's terms, so the VAE nodes run it as they run a VAE: the decoder takes
    /// <c>latent_sample</c> (latents divided by <paramref name="scalingFactor"/>) and gives <c>sample</c> in [-1, 1]; the
    /// encoder takes <c>sample</c> in [-1, 1] and gives <c>latent_sample</c> divided by the factor.
    /// </summary>
    public OnnxModel BuildGraph(float scalingFactor, WeightBinding? binding = null) => TaesdGraph.Build(Tensors, Part, scalingFactor, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
