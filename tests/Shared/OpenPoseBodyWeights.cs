namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// A body_pose_model.pth as torch.save writes it (flat keys <c>conv1_1.weight</c> … <c>Mconv7_stage6_L2.bias</c> at the
/// published shapes, float16 storages), with the deterministic weights of tools/reference/make_openpose_body.py (the shared
/// <see cref="TorchSaveFile.Hashed"/> per tensor in state-dict order, ≈ He-uniform scales, biases 2⁻⁴), so the tests
/// carry the reference maps instead of 200 MB of weights.
/// </summary>
public static class OpenPoseBodyWeights
{
    private static readonly (string Name, int Inputs, int Outputs)[] Trunk =
    [
        ("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128), ("conv2_2", 128, 128),
        ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
        ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3_CPM", 512, 256), ("conv4_4_CPM", 256, 128),
    ];

    private static readonly Lock Gate = new();

    /// <summary>A models folder whose <c>annotators</c> holds <see cref="Shared"/>'s file.</summary>
    public static string ModelsFolder => Path.Combine(Path.GetTempPath(), "flowdiffusion-tests", "openpose-body-1", "models");

    /// <summary>The file (<see cref="ModelsFolder"/>/annotators/body_pose_model.pth), written once per machine.</summary>
    public static string Shared()
    {
        var path = Path.Combine(ModelsFolder, "annotators", "body_pose_model.pth");
        lock (Gate) TorchSaveFile.WriteOnce(path, staging => Write(staging));
        return path;
    }

    /// <summary>Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> gives one tensor a wrong shape.</summary>
    public static void Write(string path, string? skip = null, string? reshape = null) => WriteHashed(path, Layout(), skip, reshape);

    /// <summary>
    /// Writes <paramref name="layout"/>'s tensors with the shared hashed values as make_openpose_body.py's and
    /// make_openpose_hand.py's weights() do (exponent 4 for biases, round(log2(1/√(6/fan-in))) for kernels), leaving out
    /// <paramref name="skip"/> and flattening <paramref name="reshape"/>.
    /// </summary>
    internal static void WriteHashed(string path, IEnumerable<(string Name, long[] Shape)> layout, string? skip, string? reshape)
    {
        var tensors = new List<(string Name, long[] Shape, Half[] Values)>();
        var t = 0;
        foreach (var (name, shape) in layout)
        {
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var exponent = shape.Length == 1 ? 4 : (int)Math.Round(Math.Log2(1 / Math.Sqrt(6.0 / shape.Skip(1).Aggregate(1L, (a, b) => a * b))), MidpointRounding.ToEven);
            tensors.Add((name, name == reshape ? [count] : shape, TorchSaveFile.Hashed(t++, count, exponent)));
        }

        TorchSaveFile.Write(path, tensors.Where(x => x.Name != skip));
    }

    // make_openpose_body.py's keys(): the trunk, then per stage the PAF (L1) and heatmap (L2) branches.
    private static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        foreach (var (name, inputs, outputs) in Trunk)
        {
            yield return ($"{name}.weight", [outputs, inputs, 3, 3]);
            yield return ($"{name}.bias", [outputs]);
        }

        for (var stage = 1; stage <= 6; stage++)
        for (var branch = 1; branch <= 2; branch++)
        {
            var outputs = branch == 1 ? 38 : 19;
            (string, int, int, int)[] layers = stage == 1
                ? [($"conv5_1_CPM_L{branch}", 128, 128, 3), ($"conv5_2_CPM_L{branch}", 128, 128, 3), ($"conv5_3_CPM_L{branch}", 128, 128, 3),
                    ($"conv5_4_CPM_L{branch}", 128, 512, 1), ($"conv5_5_CPM_L{branch}", 512, outputs, 1)]
                : [.. Enumerable.Range(1, 5).Select(i => ($"Mconv{i}_stage{stage}_L{branch}", i == 1 ? 185 : 128, 128, 7)),
                    ($"Mconv6_stage{stage}_L{branch}", 128, 128, 1), ($"Mconv7_stage{stage}_L{branch}", 128, outputs, 1)];
            foreach (var (name, inputs, o, kernel) in layers)
            {
                yield return ($"{name}.weight", [o, inputs, kernel, kernel]);
                yield return ($"{name}.bias", [o]);
            }
        }
    }
}
