using FlowDiffusion.Checkpoints.Annotators;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// A NormalBAE <c>scannet.pt</c> as the published file holds it (<c>{"model": state dict}</c>, every key under DataParallel's
/// <c>module.</c>), with every tensor NormalBaeCheckpoint.Layout() names (the layout tools/reference/make_normal_bae.py
/// writes from the published definitions; its JSON lists it and the tests compare) and make_normal_bae.py's deterministic
/// weights (make_hed.py's hash plus an offset per kind, rounded to float16 as there), in float16 storages, so the
/// 72.6 M-parameter file is 145 MB, written once per machine. The tests carry the reference maps
/// (<c>TestData/normal-bae-reference.json</c>) instead of the weights.
/// </summary>
public static class NormalBaeWeights
{
    /// <summary>The published file name.</summary>
    public const string FileName = "scannet.pt";

    /// <summary>A models folder whose <c>annotators</c> holds <see cref="Shared"/>'s file.</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "normal-bae-2", "models");

    /// <summary>The file <see cref="ModelsFolder"/>/annotators/scannet.pt, written once per machine (a stable path keeps the converted graph cached).</summary>
    public static string Shared()
    {
        var path = Path.Combine(ModelsFolder, "annotators", FileName);
        TorchSaveFile.WriteOnce(path, staging => Write(staging));
        return path;
    }

    /// <summary>Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> gives one tensor a wrong shape (names without <c>module.</c>).</summary>
    public static void Write(string path, string? skip = null, string? reshape = null)
    {
        TorchSaveFile.Write(path, NormalBaeCheckpoint.Layout().Select((k, t) => (k, t)).Where(x => x.k.Name != skip).Select(x =>
        {
            var (name, shape) = x.k;
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var (offset, exponent) = Scale(name, shape);
            var values = TorchSaveFile.Hashed(x.t, count, exponent);
            for (var i = 0; i < count; i++) values[i] = (Half)((float)values[i] + offset);
            return new TorchSaveFile.Tensor("module." + name, name == reshape ? [count] : shape, "HalfStorage", TorchSaveFile.HalfBytes(values));
        }), outer: "model");
    }

    // make_normal_bae.py's scale(): BatchNorms with small running variances (so the epsilon matters), each block's last
    // BatchNorm 4× smaller (a small residual branch keeps the 39 blocks well conditioned), about He-uniform weights.
    private static (float Offset, int Exponent) Scale(string name, long[] shape)
    {
        if (name.EndsWith("bn3.weight", StringComparison.Ordinal) || (name.Contains(".blocks.0.", StringComparison.Ordinal) && name.EndsWith("bn2.weight", StringComparison.Ordinal)))
            return (1f / 64, 8);
        if (name.EndsWith("running_var", StringComparison.Ordinal)) return (1f / 256, 9);
        if (name.EndsWith("running_mean", StringComparison.Ordinal)) return (0f, 6);
        var norm = shape.Length == 1 && (name.Contains(".bn", StringComparison.Ordinal) || name.Contains("._net.1.", StringComparison.Ordinal) || name.Contains("._net.4.", StringComparison.Ordinal));
        if (norm && name.EndsWith("weight", StringComparison.Ordinal)) return (1f / 16, 6);
        if (norm || name.EndsWith("bias", StringComparison.Ordinal)) return (0f, 4);
        return (0f, (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / shape.Skip(1).Aggregate(1L, (a, b) => a * b))), MidpointRounding.ToEven));
    }
}
