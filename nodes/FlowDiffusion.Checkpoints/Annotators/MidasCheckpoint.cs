using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// MiDaS v3 DPT-Hybrid's weights (<c>dpt_hybrid-midas-501f0c75.pt</c>, the ControlNet depth and normal annotators' file:
/// <c>DPTDepthModel</c> with backbone <c>vitb_rn50_384</c>): timm's ViT-B/16 hybrid under <c>pretrained.model.</c>
/// (<c>patch_embed.backbone</c>: the ResNet-50 v2 stem and stages 0–2 of 3, 4 and 9 bottlenecks; <c>patch_embed.proj</c>
/// 1024 → 768; <c>cls_token</c>; <c>pos_embed</c> on the 24 × 24 grid; 12 blocks), the readout projections and
/// reassembly convolutions <c>pretrained.act_postprocess3/4</c>, and the DPT scratch (<c>scratch.layerN_rn</c>,
/// <c>scratch.refinenetN</c>, <c>scratch.output_conv</c>). Every tensor the network reads is checked by name and shape on
/// open; the classifier head and final norm the file also holds are not read.
/// </summary>
public sealed class MidasCheckpoint : IDisposable
{
    /// <summary>The annotator and its file, for messages.</summary>
    public const string What = "MiDaS DPT-Hybrid depth annotator (dpt_hybrid-midas-501f0c75.pt)";

    /// <summary>The ViT's width.</summary>
    public const int Width = 768;

    /// <summary>The transformer blocks.</summary>
    public const int Layers = 12;

    /// <summary>The attention heads.</summary>
    public const int Heads = 12;

    /// <summary>The side of the position embeddings' trained grid (384 / 16).</summary>
    public const int Grid = 24;

    /// <summary>The DPT scratch's width.</summary>
    public const int Features = 256;

    /// <summary>The bottlenecks per ResNet stage.</summary>
    public static readonly int[] StageDepths = [3, 4, 9];

    /// <summary>The reassembled maps' widths (two ResNet stages, two ViT blocks).</summary>
    public static readonly int[] MapWidths = [256, 512, 768, 768];

    private const string Vit = "pretrained.model.";
    private const string Backbone = Vit + "patch_embed.backbone.";
    private readonly SafetensorsFile _file;

    private MidasCheckpoint(SafetensorsFile file, string source, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The tensors by their names in the file.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>Every tensor name and shape the network reads, in the file's order.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        const long d = Width, f = Features;
        yield return (Vit + "cls_token", [1, 1, d]);
        yield return (Vit + "pos_embed", [1, 1 + Grid * Grid, d]);
        yield return (Backbone + "stem.conv.weight", [64, 3, 7, 7]);
        yield return (Backbone + "stem.norm.weight", [64]);
        yield return (Backbone + "stem.norm.bias", [64]);
        long inputs = 64;
        for (var s = 0; s < StageDepths.Length; s++)
        {
            long outputs = 256L << s, mid = outputs / 4;
            for (var b = 0; b < StageDepths[s]; b++)
            {
                var p = $"{Backbone}stages.{s}.blocks.{b}.";
                if (b == 0)
                {
                    yield return (p + "downsample.conv.weight", [outputs, inputs, 1, 1]);
                    yield return (p + "downsample.norm.weight", [outputs]);
                    yield return (p + "downsample.norm.bias", [outputs]);
                }

                yield return (p + "conv1.weight", [mid, b == 0 ? inputs : outputs, 1, 1]);
                yield return (p + "norm1.weight", [mid]);
                yield return (p + "norm1.bias", [mid]);
                yield return (p + "conv2.weight", [mid, mid, 3, 3]);
                yield return (p + "norm2.weight", [mid]);
                yield return (p + "norm2.bias", [mid]);
                yield return (p + "conv3.weight", [outputs, mid, 1, 1]);
                yield return (p + "norm3.weight", [outputs]);
                yield return (p + "norm3.bias", [outputs]);
            }

            inputs = outputs;
        }

        yield return (Vit + "patch_embed.proj.weight", [d, inputs, 1, 1]);
        yield return (Vit + "patch_embed.proj.bias", [d]);
        for (var i = 0; i < Layers; i++)
        {
            var b = $"{Vit}blocks.{i}.";
            yield return (b + "norm1.weight", [d]);
            yield return (b + "norm1.bias", [d]);
            yield return (b + "attn.qkv.weight", [3 * d, d]);
            yield return (b + "attn.qkv.bias", [3 * d]);
            yield return (b + "attn.proj.weight", [d, d]);
            yield return (b + "attn.proj.bias", [d]);
            yield return (b + "norm2.weight", [d]);
            yield return (b + "norm2.bias", [d]);
            yield return (b + "mlp.fc1.weight", [4 * d, d]);
            yield return (b + "mlp.fc1.bias", [4 * d]);
            yield return (b + "mlp.fc2.weight", [d, 4 * d]);
            yield return (b + "mlp.fc2.bias", [d]);
        }

        foreach (var k in new[] { 3, 4 })
        {
            var p = $"pretrained.act_postprocess{k}.";
            yield return (p + "0.project.0.weight", [d, 2 * d]);
            yield return (p + "0.project.0.bias", [d]);
            yield return (p + "3.weight", [MapWidths[k - 1], d, 1, 1]);
            yield return (p + "3.bias", [MapWidths[k - 1]]);
        }

        yield return ("pretrained.act_postprocess4.4.weight", [MapWidths[3], MapWidths[3], 3, 3]);
        yield return ("pretrained.act_postprocess4.4.bias", [MapWidths[3]]);
        for (var k = 0; k < 4; k++) yield return ($"scratch.layer{k + 1}_rn.weight", [f, MapWidths[k], 3, 3]);
        for (var r = 1; r <= 4; r++)
        {
            var p = $"scratch.refinenet{r}.";
            yield return (p + "out_conv.weight", [f, f, 1, 1]);
            yield return (p + "out_conv.bias", [f]);
            foreach (var unit in new[] { "resConfUnit1", "resConfUnit2" })
            foreach (var conv in new[] { "conv1", "conv2" })
            {
                yield return ($"{p}{unit}.{conv}.weight", [f, f, 3, 3]);
                yield return ($"{p}{unit}.{conv}.bias", [f]);
            }
        }

        yield return ("scratch.output_conv.0.weight", [f / 2, f, 3, 3]);
        yield return ("scratch.output_conv.0.bias", [f / 2]);
        yield return ("scratch.output_conv.2.weight", [32, f / 2, 3, 3]);
        yield return ("scratch.output_conv.2.bias", [32]);
        yield return ("scratch.output_conv.4.weight", [1, 32, 1, 1]);
        yield return ("scratch.output_conv.4.bias", [1]);
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not DPT-Hybrid.</summary>
    public static MidasCheckpoint Open(string path)
    {
        var (file, tensors) = AnnotatorWeights.Open(path, Layout(), What);
        return new MidasCheckpoint(file, path, tensors);
    }

    /// <summary>The ONNX graph (<see cref="MidasGraph"/>).</summary>
    public OnnxModel BuildGraph(WeightBinding? binding = null) => MidasGraph.Build(Tensors, Source, binding);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
