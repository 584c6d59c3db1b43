using FlowDiffusion.Checkpoints.Annotators;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// A <c>dpt_hybrid-midas-501f0c75.pt</c> as torch.save writes it, holding every tensor MidasCheckpoint.Layout() names (the
/// layout tools/reference/make_midas.py writes from the published definitions; its JSON lists it and the tests compare)
/// with make_midas.py's deterministic weights (make_hed.py's hash, an offset and a scale per kind read from the name),
/// in float16 storages (exact: the hashed values are float16) so the 123 M-parameter file is 246 MB, written once per
/// machine. The tests carry the reference maps (<c>TestData/midas-reference.json</c>) instead of the weights.
/// </summary>
public static class MidasWeights
{
    /// <summary>The published file name.</summary>
    public const string FileName = "dpt_hybrid-midas-501f0c75.pt";

    /// <summary>A models folder whose <c>annotators</c> holds <see cref="Shared"/>'s file.</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "midas-1", "models");

    /// <summary>The file <see cref="ModelsFolder"/>/annotators/dpt_hybrid-midas-501f0c75.pt, written once per machine (a stable path keeps the converted graph cached).</summary>
    public static string Shared()
    {
        var path = Path.Combine(ModelsFolder, "annotators", FileName);
        TorchSaveFile.WriteOnce(path, staging => Write(staging));
        return path;
    }

    /// <summary>Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> gives one tensor a wrong shape.</summary>
    public static void Write(string path, string? skip = null, string? reshape = null)
    {
        TorchSaveFile.Write(path, MidasCheckpoint.Layout().Select((k, t) => (k, t)).Where(x => x.k.Name != skip).Select(x =>
        {
            var (name, shape) = x.k;
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var (offset, exponent) = Scale(name, shape);
            var values = TorchSaveFile.Hashed(x.t, count, exponent);
            for (var i = 0; i < count; i++) values[i] = (Half)((float)values[i] + offset);
            return new TorchSaveFile.Tensor(name, name == reshape ? [count] : shape, "HalfStorage", TorchSaveFile.HalfBytes(values));
        }));
    }

    // make_midas.py's kind() and KINDS: fixed per kind, or about He-uniform for weights.
    private static (float Offset, int Exponent) Scale(string name, long[] shape)
    {
        var norm = shape.Length == 1 && name.Contains(".norm", StringComparison.Ordinal);
        if (name.EndsWith("cls_token", StringComparison.Ordinal) || name.EndsWith("pos_embed", StringComparison.Ordinal)) return (0f, 1);
        if (name == "scratch.output_conv.4.bias") return (0.25f, 4);
        if (name.EndsWith(".bias", StringComparison.Ordinal)) return (0f, 4);
        if (norm) return (1f, 2);
        return (0f, (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / shape.Skip(1).Aggregate(1L, (a, b) => a * b))), MidpointRounding.ToEven));
    }
}
