namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// An <c>erika.pth</c> as torch.save writes MangaLineExtraction's <c>res_skip</c> state dict (a ZIP of <c>archive/data.pkl</c>
/// and one storage per tensor; the published keys and shapes, BatchNorm's int64 <c>num_batches_tracked</c> included, the
/// weights as float16), with the deterministic weights of tools/reference/make_manga_line.py (make_hed.py's hash), so the
/// tests carry the reference maps (<c>tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/manga-line-reference.json</c>)
/// instead of the published 172 MB.
/// </summary>
public static class MangaLineWeights
{
    // res_skip's blocks: input channels, features, units, and whether the last unit is at stride 2 (blocks 1…4) or the
    // first upsamples (blocks 5…8), as make_manga_line.py builds them.
    private static readonly (int Inputs, int Features, int Units, bool Down, bool Up)[] Blocks =
    [
        (1, 24, 2, false, false), (24, 48, 3, true, false), (48, 96, 5, true, false), (96, 192, 7, true, false), (192, 384, 12, true, false),
        (384, 192, 7, false, true), (192, 96, 5, false, true), (96, 48, 3, false, true), (48, 24, 2, false, true), (24, 16, 2, false, false),
    ];

    private static readonly Lock Gate = new();

    /// <summary>A models folder whose <c>annotators</c> holds <see cref="Shared"/>'s file.</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "manga-line-1", "models");

    /// <summary>The file (<see cref="ModelsFolder"/>/annotators/erika.pth), written once per machine (a stable path keeps the converted graph cached).</summary>
    public static string Shared()
    {
        var path = Path.Combine(ModelsFolder, "annotators", "erika.pth");
        lock (Gate) TorchSaveFile.WriteOnce(path, staging => Write(staging));
        return path;
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/>
    /// gives one tensor a wrong shape, <paramref name="prefix"/> goes before every key (<c>module.</c>: a DataParallel save).
    /// </summary>
    public static void Write(string path, string? skip = null, string? reshape = null, string prefix = "")
    {
        var tensors = new List<TorchSaveFile.Tensor>();
        var t = 0;
        foreach (var (name, shape) in Layout())
        {
            var index = t++;
            if (name == skip) continue;
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            {
                tensors.Add(new TorchSaveFile.Tensor(prefix + name, [], "LongStorage", new byte[8]));
                continue;
            }

            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var values = Values(name, shape, index, count);
            tensors.Add(new TorchSaveFile.Tensor(prefix + name, name == reshape ? [count] : shape, "HalfStorage", TorchSaveFile.HalfBytes(values)));
        }

        TorchSaveFile.Write(path, tensors);
    }

    // make_manga_line.py's model(): running_var |hashed| + 0.5, BatchNorm scales 1 + hashed, conv15's bias + 256, rounded to float16.
    private static Half[] Values(string name, long[] shape, int t, int count)
    {
        var variance = name.EndsWith("running_var", StringComparison.Ordinal);
        var values = TorchSaveFile.Hashed(t, count, variance ? 0 : Exponent(name, shape));
        float offset = name == "conv15.model.2.bias" ? 256 : shape.Length == 1 && name.EndsWith(".model.0.weight", StringComparison.Ordinal) ? 1 : 0;
        for (var i = 0; i < count; i++)
            values[i] = (Half)((variance ? Math.Abs((float)values[i]) + 0.5f : (float)values[i]) + offset);
        return values;
    }

    // make_manga_line.py's exponent().
    private static int Exponent(string name, long[] shape)
    {
        if (shape.Length != 4) return 4;
        var fanIn = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var e = (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / fanIn)), MidpointRounding.ToEven) + 1;
        if (name is "block0.model.0.conv1.model.2.weight" or "block0.model.0.shortcut.model.0.weight") e += 8;
        if (name == "conv15.model.2.weight") e -= 10;
        return e;
    }

    // res_skip's state dict in order, as torch lists it.
    private static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        IEnumerable<(string, long[])> BnConv(string name, long inputs, long outputs, long kernel)
        {
            foreach (var part in new[] { "weight", "bias", "running_mean", "running_var" }) yield return ($"{name}.model.0.{part}", [inputs]);
            yield return ($"{name}.model.0.num_batches_tracked", []);
            yield return ($"{name}.model.2.weight", [outputs, inputs, kernel, kernel]);
            yield return ($"{name}.model.2.bias", [outputs]);
        }

        for (var b = 0; b < Blocks.Length; b++)
        {
            var (blockInputs, features, units, down, _) = Blocks[b];
            for (var u = 0; u < units; u++)
            {
                var inputs = u == 0 ? blockInputs : features;
                var strided = down && u == units - 1;
                foreach (var tensor in BnConv($"block{b}.model.{u}.conv1", inputs, features, 3)) yield return tensor;
                foreach (var tensor in BnConv($"block{b}.model.{u}.residual", features, features, 3)) yield return tensor;
                if (inputs == features && !strided) continue;
                yield return ($"block{b}.model.{u}.shortcut.model.0.weight", [features, inputs, 1, 1]);
                yield return ($"block{b}.model.{u}.shortcut.model.0.bias", [features]);
            }
        }

        foreach (var tensor in BnConv("conv15", 16, 1, 1)) yield return tensor;
    }
}
