namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// A TEED <c>7_model.pth</c> as torch.save writes TED's state dict (a ZIP of <c>archive/data.pkl</c> and one float16 storage
/// per tensor; the published keys and shapes), with the deterministic weights of tools/reference/make_teed.py (make_hed.py's
/// hash), so the tests carry the reference maps (<c>tests/FlowDiffusion.Nodes.StableDiffusion.Tests/TestData/teed-reference.json</c>)
/// instead of the published file.
/// </summary>
public static class TeedWeights
{
    private static readonly Lock Gate = new();

    /// <summary>A models folder whose <c>annotators</c> holds <see cref="Shared"/>'s file.</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "teed-1", "models");

    /// <summary>The file (<see cref="ModelsFolder"/>/annotators/7_model.pth), written once per machine (a stable path keeps the converted graph cached).</summary>
    public static string Shared()
    {
        var path = Path.Combine(ModelsFolder, "annotators", "7_model.pth");
        lock (Gate) TorchSaveFile.WriteOnce(path, staging => Write(staging));
        return path;
    }

    /// <summary>Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> gives one tensor a wrong shape.</summary>
    public static void Write(string path, string? skip = null, string? reshape = null)
    {
        var tensors = new List<(string Name, long[] Shape, Half[] Values)>();
        var t = 0;
        foreach (var (name, shape) in Layout())
        {
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var values = TorchSaveFile.Hashed(t++, count, Exponent(name, shape));
            if (name != skip) tensors.Add((name, name == reshape ? [count] : shape, values));
        }

        TorchSaveFile.Write(path, tensors);
    }

    // TED's state dict in order, as make_teed.py prints it.
    private static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        (string, long[])[] Conv(string name, long outputs, long inputs, long kernel) =>
            [($"{name}.weight", [outputs, inputs, kernel, kernel]), ($"{name}.bias", [outputs])];
        return new[]
        {
            Conv("block_1.conv1", 16, 3, 3), Conv("block_1.conv2", 16, 16, 3), Conv("block_2.conv1", 32, 16, 3), Conv("block_2.conv2", 32, 32, 3),
            Conv("dblock_3.denselayer1.conv1", 48, 32, 3), Conv("dblock_3.denselayer1.conv2", 48, 48, 3),
            Conv("side_1.conv", 32, 16, 1), Conv("pre_dense_3.conv", 48, 32, 1),
            Conv("up_block_1.features.0", 1, 16, 1), Conv("up_block_1.features.2", 1, 1, 2),
            Conv("up_block_2.features.0", 1, 32, 1), Conv("up_block_2.features.2", 1, 1, 2),
            Conv("up_block_3.features.0", 16, 48, 1), Conv("up_block_3.features.2", 16, 16, 4),
            Conv("up_block_3.features.3", 1, 16, 1), Conv("up_block_3.features.5", 1, 1, 4),
            Conv("block_cat.DWconv1", 24, 1, 3), Conv("block_cat.DWconv2", 24, 1, 3),
        }.SelectMany(c => c);
    }

    // make_teed.py's exponent().
    private static int Exponent(string name, long[] shape)
    {
        if (name.EndsWith("bias", StringComparison.Ordinal)) return 4;
        var fanIn = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var e = (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / fanIn)), MidpointRounding.ToEven);
        if (name == "block_1.conv1.weight") e += 6;
        if (name.StartsWith("up_block", StringComparison.Ordinal) || name.StartsWith("block_cat", StringComparison.Ordinal)) e -= 2;
        return e;
    }
}
