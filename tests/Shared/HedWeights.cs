using System.Buffers.Binary;

namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// A ControlNetHED.pth as torch.save writes it (a ZIP of <c>archive/data.pkl</c> and one float16 storage per tensor, the
/// published file's layout: <c>norm</c> and <c>block1…5</c>'s convolutions and projections at their real shapes), with
/// the deterministic weights of tools/reference/make_hed.py — a hash of each tensor's index and each element's, exact in
/// float16 — so the tests carry the reference maps (<c>tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/hed-reference.json</c>) instead of 29 MB of weights.
/// </summary>
public static class HedWeights
{
    private static readonly (int Inputs, int Features, int Convolutions)[] Blocks = [(3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3)];
    private static readonly float[] Norm = [104, 117, 123];
    private static readonly Lock Gate = new();

    /// <summary>A models folder whose <c>annotators</c> holds <see cref="Shared"/>'s file.</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "hed-1", "models");

    /// <summary>The file (<see cref="ModelsFolder"/>/annotators/ControlNetHED.pth), written once per machine (a stable path keeps the converted graph cached).</summary>
    public static string Shared() => TorchSaveFile.WriteOnce(Path.Combine(ModelsFolder, "annotators", "ControlNetHED.pth"), path => Write(path), Gate);

    /// <summary>Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> gives one tensor a wrong shape.</summary>
    public static void Write(string path, string? skip = null, string? reshape = null)
    {
        var tensors = new List<(string Name, long[] Shape, Half[] Values)> { ("norm", [1, 3, 1, 1], [.. Norm.Select(v => (Half)v)]) };
        var t = 0;
        foreach (var (name, shape, kind) in Layout())
        {
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            tensors.Add((name, name == reshape ? [count] : shape, [.. TorchSaveFile.Hashed(t++, count, Exponent(name, shape, kind)).Select(v => (Half)v)]));
        }

        TorchSaveFile.Write(path, tensors.Where(x => x.Name != skip).Select(x =>
        {
            var bytes = new byte[2 * x.Values.Length];
            for (var i = 0; i < x.Values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), x.Values[i]);
            return (x.Name, x.Shape, "HalfStorage", (long)x.Values.Length, bytes);
        }));
    }

    // make_hed.py's keys(): every tensor but norm, in state-dict order, with its kind.
    private static IEnumerable<(string Name, long[] Shape, string Kind)> Layout()
    {
        for (var b = 0; b < Blocks.Length; b++)
        {
            var (inputs, features, convolutions) = Blocks[b];
            for (var j = 0; j < convolutions; j++)
            {
                yield return ($"block{b + 1}.convs.{j}.weight", [features, j == 0 ? inputs : features, 3, 3], "conv");
                yield return ($"block{b + 1}.convs.{j}.bias", [features], "bias");
            }

            yield return ($"block{b + 1}.projection.weight", [1, features, 1, 1], "projection");
            yield return ($"block{b + 1}.projection.bias", [1], "bias");
        }
    }

    // make_hed.py's exponent(): about He-uniform, the first convolution also scaled for 0..255 input.
    private static int Exponent(string name, long[] shape, string kind)
    {
        if (kind == "bias") return 4;
        var fanIn = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var e = (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / fanIn)), MidpointRounding.ToEven);
        if (name == "block1.convs.0.weight") e += 6;
        if (kind == "projection") e += 1;
        return e;
    }
}
