using FlowDiffusion.Checkpoints.Annotators;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// An mlsd_large_512_fp32.pth as torch.save writes it (a ZIP of <c>archive/data.pkl</c> and one float16 storage per
/// tensor, MobileV2_MLSD_Large's keys and shapes), with the deterministic weights of tools/reference/make_mlsd.py (whose
/// own key list must agree with <see cref="MlsdCheckpoint.Layout"/>'s order, or the reference maps will not match), so the
/// tests carry the reference maps instead of the 6 MB file.
/// </summary>
public static class MlsdWeights
{
    private static readonly Lock Gate = new();

    /// <summary>A models folder whose <c>annotators</c> holds <see cref="Shared"/>'s file.</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "mlsd-1", "models");

    /// <summary>The file (<see cref="ModelsFolder"/>/annotators/mlsd_large_512_fp32.pth), written once per machine.</summary>
    public static string Shared()
    {
        var path = Path.Combine(ModelsFolder, "annotators", "mlsd_large_512_fp32.pth");
        lock (Gate) TorchSaveFile.WriteOnce(path, staging => Write(staging));
        return path;
    }

    /// <summary>Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> gives one tensor a wrong shape.</summary>
    public static void Write(string path, string? skip = null, string? reshape = null)
    {
        var tensors = new List<(string Name, long[] Shape, Half[] Values)>();
        var t = 0;
        foreach (var (name, shape) in MlsdCheckpoint.Layout())
        {
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var values = TorchSaveFile.Hashed(t++, count, Exponent(name, shape));
            if (name.EndsWith(".running_var", StringComparison.Ordinal) || (name.EndsWith(".weight", StringComparison.Ordinal) && shape.Length == 1))
                values = [.. values.Select(v => (Half)(1.0 + (double)v))];
            tensors.Add((name, name == reshape ? [count] : shape, values));
        }

        TorchSaveFile.Write(path, tensors.Where(x => x.Name != skip));
    }

    // make_mlsd.py's exponent().
    private static int Exponent(string name, long[] shape)
    {
        if (name.EndsWith(".running_mean", StringComparison.Ordinal)) return 3;
        if (name.EndsWith(".running_var", StringComparison.Ordinal) || shape.Length == 1 && name.EndsWith(".weight", StringComparison.Ordinal)) return 2;
        if (name.EndsWith(".bias", StringComparison.Ordinal)) return 4;
        var fanIn = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var e = (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / fanIn)), MidpointRounding.ToEven);
        if (name == "backbone.features.0.0.weight") e -= 1;
        if (name.StartsWith("block23.conv3", StringComparison.Ordinal)) e += 1;
        return e;
    }
}
