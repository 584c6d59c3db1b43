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
    public static string Shared()
    {
        var path = Path.Combine(ModelsFolder, "annotators", "ControlNetHED.pth");
        lock (Gate)
        {
            if (!File.Exists(path))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var staging = path + "." + Guid.NewGuid().ToString("N")[..8];
                Write(staging);
                try
                {
                    File.Move(staging, path);
                }
                catch (IOException) when (File.Exists(path))
                {
                    File.Delete(staging);
                }
            }
        }

        return path;
    }

    /// <summary>Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> gives one tensor a wrong shape.</summary>
    public static void Write(string path, string? skip = null, string? reshape = null)
    {
        var tensors = new List<(string Name, long[] Shape, Half[] Values)> { ("norm", [1, 3, 1, 1], [.. Norm.Select(v => (Half)v)]) };
        var t = 0;
        foreach (var (name, shape, kind) in Layout())
        {
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            tensors.Add((name, name == reshape ? [count] : shape, Hashed(t++, count, Exponent(name, shape, kind))));
        }

        TorchFile.Write(path, tensors.Where(t => t.Name != skip));
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

    // make_hed.py's hashed(): murmur3's finaliser of (i · 2654435761 + (t + 1) · 0x9E3779B9), its top 11 bits centred, × 2^-e.
    internal static Half[] Hashed(int t, int count, int exponent)
    {
        var values = new Half[count];
        var seed = unchecked((uint)(t + 1) * 0x9E3779B9u);
        for (var i = 0; i < count; i++)
        {
            var h = unchecked((uint)i * 2654435761u + seed);
            h ^= h >> 16;
            h = unchecked(h * 0x85EBCA6Bu);
            h ^= h >> 13;
            h = unchecked(h * 0xC2B2AE35u);
            h ^= h >> 16;
            values[i] = (Half)(((int)(h >> 21) - 1024) / 1024.0 * Math.Pow(2, -exponent));
        }

        return values;
    }
}
