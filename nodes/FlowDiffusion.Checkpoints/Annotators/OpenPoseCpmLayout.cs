namespace FlowDiffusion.Checkpoints.Annotators;

/// <summary>
/// The layout CMU's OpenPose hand and face networks share (lllyasviel's <c>hand_pose_model.pth</c> and <c>facenet.pth</c>,
/// keys without a module prefix): VGG-19's <c>conv1_1</c>…<c>conv5_2</c> with three 2×2 max pools and <c>conv5_3_CPM</c>
/// (128 features), stage 1's <c>conv6_1_CPM</c>/<c>conv6_2_CPM</c> and stages 2–6 (<c>Mconv1…7_stageN</c> on the previous
/// stage's heatmaps and the features), each ending in the network's heatmaps (22 for hands, 71 for faces).
/// </summary>
public static class OpenPoseCpmLayout
{
    /// <summary>The trunk's 3×3 convolutions (name, inputs, outputs); a 2×2 max pool follows <c>conv1_2</c>, <c>conv2_2</c> and <c>conv3_4</c>.</summary>
    public static readonly (string Name, int Inputs, int Outputs)[] Trunk =
    [
        ("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128), ("conv2_2", 128, 128),
        ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
        ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512), ("conv4_4", 512, 512),
        ("conv5_1", 512, 512), ("conv5_2", 512, 512), ("conv5_3_CPM", 512, 128),
    ];

    /// <summary>The trunk convolutions after which the features are max-pooled.</summary>
    public static readonly string[] PooledAfter = ["conv1_2", "conv2_2", "conv3_4"];

    /// <summary>The trunk's feature channels.</summary>
    public const int Features = 128;

    /// <summary>Stage <paramref name="stage"/>'s convolutions (name, inputs, outputs, kernel) for <paramref name="heatmaps"/> heatmap channels: stage 1 on the features, stages 2–6 on the heatmaps and features.</summary>
    public static IEnumerable<(string Name, int Inputs, int Outputs, int Kernel)> Stage(int stage, int heatmaps)
    {
        if (stage == 1)
        {
            yield return ("conv6_1_CPM", Features, 512, 1);
            yield return ("conv6_2_CPM", 512, heatmaps, 1);
            yield break;
        }

        for (var i = 1; i <= 5; i++) yield return ($"Mconv{i}_stage{stage}", i == 1 ? heatmaps + Features : 128, 128, 7);
        yield return ($"Mconv6_stage{stage}", 128, 128, 1);
        yield return ($"Mconv7_stage{stage}", 128, heatmaps, 1);
    }

    /// <summary>Every tensor name and shape of the network with <paramref name="heatmaps"/> heatmap channels, in the state dict's order.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Layout(int heatmaps)
    {
        foreach (var (name, inputs, outputs) in Trunk)
        {
            yield return ($"{name}.weight", [outputs, inputs, 3, 3]);
            yield return ($"{name}.bias", [outputs]);
        }

        for (var stage = 1; stage <= 6; stage++)
        foreach (var (name, inputs, outputs, kernel) in Stage(stage, heatmaps))
        {
            yield return ($"{name}.weight", [outputs, inputs, kernel, kernel]);
            yield return ($"{name}.bias", [outputs]);
        }
    }
}
