namespace FlowDiffusion.Tests.Shared;

/// <summary>
/// A facenet.pth as torch.save writes it (flat keys <c>conv1_1.weight</c> … <c>Mconv7_stage6.bias</c> at the published
/// shapes, 71 heatmaps, float16 storages), with the deterministic weights of tools/reference/make_openpose_face.py (the shared
/// <see cref="TorchSaveFile.Hashed"/> per tensor in state-dict order, ≈ He-uniform scales, biases 2⁻⁴).
/// </summary>
public static class OpenPoseFaceWeights
{
    private static readonly (string Name, int Inputs, int Outputs)[] Trunk =
    [
        ("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128), ("conv2_2", 128, 128),
        ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
        ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512), ("conv4_4", 512, 512),
        ("conv5_1", 512, 512), ("conv5_2", 512, 512), ("conv5_3_CPM", 512, 128),
    ];

    private static readonly Lock Gate = new();

    /// <summary>The file in <see cref="OpenPoseBodyWeights.ModelsFolder"/>/annotators (beside the body's), written once per machine.</summary>
    public static string Shared()
    {
        var path = Path.Combine(OpenPoseBodyWeights.ModelsFolder, "annotators", "facenet.pth");
        lock (Gate) TorchSaveFile.WriteOnce(path, staging => Write(staging));
        return path;
    }

    /// <summary>Writes the file to <paramref name="path"/>; <paramref name="skip"/> leaves one tensor out, <paramref name="reshape"/> gives one tensor a wrong shape.</summary>
    public static void Write(string path, string? skip = null, string? reshape = null) =>
        OpenPoseBodyWeights.WriteHashed(path, Layout(), skip, reshape);

    // make_openpose_face.py's keys(): the trunk, conv6_1/6_2_CPM, then Mconv1…7 of stages 2–6, 71 heatmaps.
    private static IEnumerable<(string Name, long[] Shape)> Layout()
    {
        foreach (var (name, inputs, outputs) in Trunk)
        {
            yield return ($"{name}.weight", [outputs, inputs, 3, 3]);
            yield return ($"{name}.bias", [outputs]);
        }

        (string, int, int, int)[] first = [("conv6_1_CPM", 128, 512, 1), ("conv6_2_CPM", 512, 71, 1)];
        var layers = first.Concat(Enumerable.Range(2, 5).SelectMany(stage =>
            Enumerable.Range(1, 5).Select(i => ($"Mconv{i}_stage{stage}", i == 1 ? 199 : 128, 128, 7))
                .Append(($"Mconv6_stage{stage}", 128, 128, 1)).Append(($"Mconv7_stage{stage}", 128, 71, 1))));
        foreach (var (name, inputs, outputs, kernel) in layers)
        {
            yield return ($"{name}.weight", [outputs, inputs, kernel, kernel]);
            yield return ($"{name}.bias", [outputs]);
        }
    }
}
