using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// Depth Anything's weights (V1's DPT_DINOv2 and V2's DepthAnythingV2 share the layout; <c>depth_anything_vit?14.pth</c>,
/// <c>depth_anything_v2_vit?.pth</c> or the extension's <c>.safetensors</c>): the DINOv2 encoder under <c>pretrained.</c>
/// (<c>cls_token</c>, <c>pos_embed</c> [1, 1 + s², width], <c>patch_embed.proj</c> 14 × 14, <c>blocks.N</c> with
/// <c>norm1</c>, <c>attn.qkv</c>, <c>attn.proj</c>, <c>ls1.gamma</c>, <c>norm2</c>, <c>mlp.fc1/fc2</c> or <c>mlp.w12/w3</c>,
/// <c>ls2.gamma</c>; <c>norm</c>) and the DPT head under <c>depth_head.</c> (<c>projects</c>, <c>resize_layers</c>,
/// <c>scratch.layerN_rn</c>, <c>scratch.refinenetN</c>, <c>scratch.output_conv1/2</c>). The size is read from
/// <c>pretrained.cls_token</c>'s width; every key and shape is checked on open.
/// </summary>
public sealed class DepthAnythingCheckpoint : IDisposable
{
    private const string Encoder = "pretrained.";
    private const string Head = "depth_head.";
    private readonly SafetensorsFile _file;

    private DepthAnythingCheckpoint(SafetensorsFile file, string source, DepthAnythingEncoder size, int grid, Dictionary<string, StoredTensor> tensors)
    {
        _file = file;
        Source = source;
        Size = size;
        Grid = grid;
        Tensors = tensors;
    }

    /// <summary>The file it came from.</summary>
    public string Source { get; }

    /// <summary>The encoder size the file holds.</summary>
    public DepthAnythingEncoder Size { get; }

    /// <summary>The side of the square grid the position embeddings were trained at (37 for 518 pixels).</summary>
    public int Grid { get; }

    /// <summary>The tensors by their names in the file.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>Every tensor name and shape a checkpoint of <paramref name="size"/> has, its position grid <paramref name="grid"/> on a side.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout(DepthAnythingEncoder size, int grid)
    {
        ArgumentNullException.ThrowIfNull(size);
        long d = size.Width, hidden = size.Hidden;
        yield return (Encoder + "cls_token", [1, 1, d]);
        yield return (Encoder + "pos_embed", [1, 1 + (long)grid * grid, d]);
        yield return (Encoder + "mask_token", [1, d]);
        yield return (Encoder + "patch_embed.proj.weight", [d, 3, DepthAnythingEncoder.Patch, DepthAnythingEncoder.Patch]);
        yield return (Encoder + "patch_embed.proj.bias", [d]);
        for (var i = 0; i < size.Layers; i++)
        {
            var b = $"{Encoder}blocks.{i}.";
            yield return (b + "norm1.weight", [d]);
            yield return (b + "norm1.bias", [d]);
            yield return (b + "attn.qkv.weight", [3 * d, d]);
            yield return (b + "attn.qkv.bias", [3 * d]);
            yield return (b + "attn.proj.weight", [d, d]);
            yield return (b + "attn.proj.bias", [d]);
            yield return (b + "ls1.gamma", [d]);
            yield return (b + "norm2.weight", [d]);
            yield return (b + "norm2.bias", [d]);
            if (size.SwiGlu)
            {
                yield return (b + "mlp.w12.weight", [2 * hidden, d]);
                yield return (b + "mlp.w12.bias", [2 * hidden]);
                yield return (b + "mlp.w3.weight", [d, hidden]);
                yield return (b + "mlp.w3.bias", [d]);
            }
            else
            {
                yield return (b + "mlp.fc1.weight", [hidden, d]);
                yield return (b + "mlp.fc1.bias", [hidden]);
                yield return (b + "mlp.fc2.weight", [d, hidden]);
                yield return (b + "mlp.fc2.bias", [d]);
            }

            yield return (b + "ls2.gamma", [d]);
        }

        yield return (Encoder + "norm.weight", [d]);
        yield return (Encoder + "norm.bias", [d]);
        long f = size.Features;
        var oc = size.OutChannels;
        for (var k = 0; k < 4; k++)
        {
            yield return ($"{Head}projects.{k}.weight", [oc[k], d, 1, 1]);
            yield return ($"{Head}projects.{k}.bias", [oc[k]]);
        }

        foreach (var (k, kernel) in new[] { (0, 4L), (1, 2L), (3, 3L) })
        {
            yield return ($"{Head}resize_layers.{k}.weight", [oc[k], oc[k], kernel, kernel]);
            yield return ($"{Head}resize_layers.{k}.bias", [oc[k]]);
        }

        for (var k = 0; k < 4; k++) yield return ($"{Head}scratch.layer{k + 1}_rn.weight", [f, oc[k], 3, 3]);
        for (var r = 1; r <= 4; r++)
        {
            var refine = $"{Head}scratch.refinenet{r}.";
            yield return (refine + "out_conv.weight", [f, f, 1, 1]);
            yield return (refine + "out_conv.bias", [f]);
            foreach (var unit in new[] { "resConfUnit1", "resConfUnit2" })
            foreach (var conv in new[] { "conv1", "conv2" })
            {
                yield return ($"{refine}{unit}.{conv}.weight", [f, f, 3, 3]);
                yield return ($"{refine}{unit}.{conv}.bias", [f]);
            }
        }

        yield return (Head + "scratch.output_conv1.weight", [f / 2, f, 3, 3]);
        yield return (Head + "scratch.output_conv1.bias", [f / 2]);
        yield return (Head + "scratch.output_conv2.0.weight", [32, f / 2, 3, 3]);
        yield return (Head + "scratch.output_conv2.0.bias", [32]);
        yield return (Head + "scratch.output_conv2.2.weight", [1, 32, 1, 1]);
        yield return (Head + "scratch.output_conv2.2.bias", [1]);
    }

    /// <summary>Opens the file; throws a <see cref="CheckpointException"/> naming it and the tensor when it is not Depth Anything.</summary>
    public static DepthAnythingCheckpoint Open(string path)
    {
        SafetensorsFile file;
        try
        {
            file = SafetensorsFile.Open(path);
        }
        catch (SafetensorsException e)
        {
            throw new CheckpointException($"{path}: not readable Depth Anything weights (depth_anything_vit?14.pth, depth_anything_v2_vit?.pth): {e.Message}");
        }

        try
        {
            var (size, grid) = Identify(file, path);
            foreach (var (name, shape) in Layout(size, grid))
            {
                if (!file.Tensors.TryGetValue(name, out var tensor))
                    throw new CheckpointException($"{path}: tensor '{name}' is missing; not Depth Anything {size.Name} (DPT_DINOv2 / DepthAnythingV2's keys pretrained.* and depth_head.*).");
                if (!tensor.Shape.SequenceEqual(shape))
                    throw new CheckpointException($"{path}: tensor '{name}' is [{string.Join(", ", tensor.Shape)}]; Depth Anything {size.Name}'s is [{string.Join(", ", shape)}].");
            }

            var tensors = Layout(size, grid).ToDictionary(t => t.Name, t => new StoredTensor(file, file.Tensors[t.Name], t.Shape), StringComparer.Ordinal);
            return new DepthAnythingCheckpoint(file, path, size, grid, tensors);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The ONNX graph (<see cref="DepthAnythingGraph"/>) reading the head's blocks as <paramref name="version"/> does.</summary>
    public OnnxModel BuildGraph(DepthAnythingVersion version, WeightBinding? binding = null)
    {
        if (version == DepthAnythingVersion.V1 && Size.SwiGlu)
            throw new CheckpointException($"{Source}: Depth Anything V1 has no {Size.Name} model (V1's DPT_DINOv2 takes vits, vitb and vitl); use it as V2.");
        return DepthAnythingGraph.Build(Tensors, Size, Grid, version, Source, binding);
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    // The size from cls_token's width, the position grid from pos_embed's length (1 + s²).
    private static (DepthAnythingEncoder Size, int Grid) Identify(SafetensorsFile file, string path)
    {
        if (!file.Tensors.TryGetValue(Encoder + "cls_token", out var cls) || cls.Shape.Length != 3)
            throw new CheckpointException($"{path}: tensor '{Encoder}cls_token' is missing or not [1, 1, width]; not Depth Anything (DPT_DINOv2 / DepthAnythingV2's keys pretrained.* and depth_head.*).");
        var size = DepthAnythingEncoder.All.FirstOrDefault(s => s.Width == cls.Shape[2])
            ?? throw new CheckpointException($"{path}: '{Encoder}cls_token' is {cls.Shape[2]} wide; Depth Anything's encoders are 384 (vits), 768 (vitb), 1024 (vitl) or 1536 (vitg).");
        if (!file.Tensors.TryGetValue(Encoder + "pos_embed", out var pos) || pos.Shape.Length != 3)
            throw new CheckpointException($"{path}: tensor '{Encoder}pos_embed' is missing or not [1, 1 + s², {size.Width}].");
        var grid = (int)Math.Round(Math.Sqrt(pos.Shape[1] - 1));
        if (grid < 1 || grid > 1024 || (long)grid * grid != pos.Shape[1] - 1)
            throw new CheckpointException($"{path}: tensor '{Encoder}pos_embed' is [{string.Join(", ", pos.Shape)}]; its patch positions are not a square grid.");
        return (size, grid);
    }
}
