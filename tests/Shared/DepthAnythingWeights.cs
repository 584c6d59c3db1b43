namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// A Depth Anything vits <c>.pth</c> as torch.save writes it (float32 storages, the published files' keys and shapes:
/// <c>pretrained.*</c> with pos_embed on the 37 × 37 grid, <c>depth_head.*</c>), with tools/reference/make_depth_anything.py's
/// deterministic weights (make_hed.py's hash, an offset and a scale per kind), so the tests carry the reference maps
/// (<c>TestData/depth-anything-reference.json</c>) instead of 99 MB of weights. V1 and V2 files share this layout.
/// </summary>
public static class DepthAnythingWeights
{
    private const int Width = 384;
    private const int Layers = 12;
    private const int Features = 64;
    private const int Grid = 37;
    private static readonly int[] Out = [48, 96, 192, 384];
    private static readonly Lock Gate = new();

    /// <summary>A models folder whose <c>annotators</c> holds <see cref="Shared"/>'s file.</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "depth-anything-1", "models");

    /// <summary>The file <see cref="ModelsFolder"/>/annotators/depth_anything_v2_vits.pth, written once per machine (a stable path keeps the converted graph cached).</summary>
    public static string Shared()
    {
        var path = Path.Combine(ModelsFolder, "annotators", "depth_anything_v2_vits.pth");
        TorchSaveFile.WriteOnce(path, staging => Write(staging));
        return path;
    }

    /// <summary>The same weights under another name in the same folder (a symbolic link to <see cref="Shared"/>'s file), as the front ends' file names (the size is read from the file, not its name).</summary>
    public static string Named(string name)
    {
        var target = Shared();
        var path = Path.Combine(ModelsFolder, "annotators", name);
        lock (Gate)
        {
            if (!File.Exists(path)) File.CreateSymbolicLink(path, target);
        }

        return path;
    }

    /// <summary>Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> gives one tensor a wrong shape.</summary>
    public static void Write(string path, string? skip = null, string? reshape = null)
    {
        TorchSaveFile.Write(path, Layout().Select((k, t) => (k, t)).Where(x => x.k.Name != skip).Select(x =>
        {
            var (name, shape, kind) = x.k;
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var (offset, exponent) = Scale(shape, kind);
            var values = TorchSaveFile.Hashed(x.t, count, exponent);
            var bytes = new byte[4 * count];
            for (var i = 0; i < count; i++) BitConverter.TryWriteBytes(bytes.AsSpan(4 * i), (float)values[i] + offset);
            return new TorchSaveFile.Tensor(name, name == reshape ? [count] : shape, "FloatStorage", bytes);
        }));
    }

    // make_depth_anything.py's KINDS and exponent(): fixed per kind, or about He-uniform for weights.
    private static (float Offset, int Exponent) Scale(long[] shape, string kind) => kind switch
    {
        "bias" => (0f, 4),
        "token" => (0f, 1),
        "gamma" => (0.5f, 2),
        "norm_weight" => (1f, 2),
        "norm_bias" => (0f, 4),
        "final_bias" => (0.25f, 4),
        _ => (0f, (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / shape.Skip(1).Aggregate(1L, (a, b) => a * b))), MidpointRounding.ToEven)),
    };

    // make_depth_anything.py's keys(), in state-dict order.
    private static IEnumerable<(string Name, long[] Shape, string Kind)> Layout()
    {
        const long d = Width, hidden = 4 * Width, f = Features;
        yield return ("pretrained.cls_token", [1, 1, d], "token");
        yield return ("pretrained.pos_embed", [1, 1 + Grid * Grid, d], "token");
        yield return ("pretrained.mask_token", [1, d], "token");
        yield return ("pretrained.patch_embed.proj.weight", [d, 3, 14, 14], "weight");
        yield return ("pretrained.patch_embed.proj.bias", [d], "bias");
        for (var i = 0; i < Layers; i++)
        {
            var b = $"pretrained.blocks.{i}.";
            yield return (b + "norm1.weight", [d], "norm_weight");
            yield return (b + "norm1.bias", [d], "norm_bias");
            yield return (b + "attn.qkv.weight", [3 * d, d], "weight");
            yield return (b + "attn.qkv.bias", [3 * d], "bias");
            yield return (b + "attn.proj.weight", [d, d], "weight");
            yield return (b + "attn.proj.bias", [d], "bias");
            yield return (b + "ls1.gamma", [d], "gamma");
            yield return (b + "norm2.weight", [d], "norm_weight");
            yield return (b + "norm2.bias", [d], "norm_bias");
            yield return (b + "mlp.fc1.weight", [hidden, d], "weight");
            yield return (b + "mlp.fc1.bias", [hidden], "bias");
            yield return (b + "mlp.fc2.weight", [d, hidden], "weight");
            yield return (b + "mlp.fc2.bias", [d], "bias");
            yield return (b + "ls2.gamma", [d], "gamma");
        }

        yield return ("pretrained.norm.weight", [d], "norm_weight");
        yield return ("pretrained.norm.bias", [d], "norm_bias");
        for (var k = 0; k < 4; k++)
        {
            yield return ($"depth_head.projects.{k}.weight", [Out[k], d, 1, 1], "weight");
            yield return ($"depth_head.projects.{k}.bias", [Out[k]], "bias");
        }

        foreach (var (k, kernel) in new[] { (0, 4L), (1, 2L), (3, 3L) })
        {
            yield return ($"depth_head.resize_layers.{k}.weight", [Out[k], Out[k], kernel, kernel], "weight");
            yield return ($"depth_head.resize_layers.{k}.bias", [Out[k]], "bias");
        }

        for (var k = 0; k < 4; k++) yield return ($"depth_head.scratch.layer{k + 1}_rn.weight", [f, Out[k], 3, 3], "weight");
        for (var r = 1; r <= 4; r++)
        {
            var p = $"depth_head.scratch.refinenet{r}.";
            yield return (p + "out_conv.weight", [f, f, 1, 1], "weight");
            yield return (p + "out_conv.bias", [f], "bias");
            foreach (var unit in new[] { "resConfUnit1", "resConfUnit2" })
            foreach (var conv in new[] { "conv1", "conv2" })
            {
                yield return ($"{p}{unit}.{conv}.weight", [f, f, 3, 3], "weight");
                yield return ($"{p}{unit}.{conv}.bias", [f], "bias");
            }
        }

        yield return ("depth_head.scratch.output_conv1.weight", [f / 2, f, 3, 3], "weight");
        yield return ("depth_head.scratch.output_conv1.bias", [f / 2], "bias");
        yield return ("depth_head.scratch.output_conv2.0.weight", [32, f / 2, 3, 3], "weight");
        yield return ("depth_head.scratch.output_conv2.0.bias", [32], "bias");
        yield return ("depth_head.scratch.output_conv2.2.weight", [1, 32, 1, 1], "weight");
        yield return ("depth_head.scratch.output_conv2.2.bias", [1], "final_bias");
    }
}
