using FlowDiffusion.Checkpoints.Annotators;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// A LeReS <c>res101.pth</c> as the published file holds it (<c>{"depth_model": state dict}</c>, every key under DataParallel's
/// <c>module.</c>), with every tensor LeresCheckpoint.Layout() names (the layout tools/reference/make_leres.py writes from
/// the published RelDepthModel and ResNeXt definitions; its JSON lists it and the tests compare) and make_leres.py's
/// deterministic weights (make_hed.py's hash plus an offset per kind, rounded to float16 as there), in float16 storages, so
/// the 115.6 M-parameter file is 231 MB, written once per machine. The tests carry the reference maps
/// (<c>TestData/leres-reference.json</c>) instead of the weights.
/// </summary>
public static class LeresWeights
{
    /// <summary>The published file name.</summary>
    public const string FileName = "res101.pth";

    /// <summary>A models folder whose <c>annotators</c> holds <see cref="Shared"/>'s file.</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "leres-1", "models");

    /// <summary>The file <see cref="ModelsFolder"/>/annotators/res101.pth, written once per machine (a stable path keeps the converted graph cached).</summary>
    public static string Shared()
    {
        var path = Path.Combine(ModelsFolder, "annotators", FileName);
        TorchSaveFile.WriteOnce(path, staging => Write(staging));
        return path;
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/>
    /// gives one tensor a wrong shape (names without <c>module.</c>). A damaged file ends at the damage: the reader checks the
    /// layout in order and stops at the first wrong tensor, so the rest (most of 231 MB) would only slow the tests.
    /// </summary>
    public static void Write(string path, string? skip = null, string? reshape = null)
    {
        var layout = LeresCheckpoint.Layout().ToList();
        var damaged = layout.FindIndex(k => k.Name == (skip ?? reshape));
        if (damaged >= 0) layout = layout[..(damaged + 1)];
        var norms = layout.Where(k => k.Name.EndsWith(".running_var", StringComparison.Ordinal)).Select(k => k.Name[..k.Name.LastIndexOf('.')]).ToHashSet(StringComparer.Ordinal);
        TorchSaveFile.Write(path, layout.Select((k, t) => (k, t)).Where(x => x.k.Name != skip).Select(x =>
        {
            var (name, shape) = x.k;
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var (offset, exponent) = Scale(name, shape, norms);
            var values = TorchSaveFile.Hashed(x.t, count, exponent);
            for (var i = 0; i < count; i++) values[i] = (Half)((float)values[i] + offset);
            return new TorchSaveFile.Tensor("module." + name, name == reshape ? [count] : shape, "HalfStorage", TorchSaveFile.HalfBytes(values));
        }), outer: "depth_model");
    }

    // make_leres.py's scale(): BatchNorms with small running variances (so the epsilon matters), each bottleneck's last
    // BatchNorm 4× smaller, about He-uniform weights, the first convolution 2^-8 smaller for the 0..255-scale input.
    private static (float Offset, int Exponent) Scale(string name, long[] shape, HashSet<string> norms)
    {
        var prefix = name[..name.LastIndexOf('.')];
        if (name.EndsWith("bn3.weight", StringComparison.Ordinal)) return (1f / 64, 8);
        if (name.EndsWith("running_var", StringComparison.Ordinal)) return (1f / 256, 9);
        if (name.EndsWith("running_mean", StringComparison.Ordinal)) return (0f, 6);
        if (norms.Contains(prefix) && name.EndsWith("weight", StringComparison.Ordinal)) return (1f / 16, 6);
        if (norms.Contains(prefix) || name.EndsWith("bias", StringComparison.Ordinal)) return (0f, 4);
        var exponent = (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / shape.Skip(1).Aggregate(1L, (a, b) => a * b))), MidpointRounding.ToEven);
        return (0f, name == LeresCheckpoint.Encoder + "conv1.weight" ? exponent + 8 : exponent);
    }
}
