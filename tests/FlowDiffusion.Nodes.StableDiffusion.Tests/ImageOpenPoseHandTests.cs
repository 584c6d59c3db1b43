using System.Text;
using System.Text.Json;
using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Imaging.Preprocessors.Pose;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.openpose's hands against tools/reference/make_openpose_hand.py: handDetect's boxes from body points and the
/// peak per point from hand-made averaged heatmaps exactly; the hand network of a hand_pose_model.pth in the published
/// layout (the reference's hashed weights) against torch within tolerance; the per-box pipeline's scales and crop; the
/// node's errors naming hand_model.
/// </summary>
public sealed class ImageOpenPoseHandTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "openpose-hand-reference.json"))).RootElement;

    [Fact]
    public void Hand_boxes_from_body_points_are_the_references()
    {
        var c = Oracle.GetProperty("boxes");
        int height = c.GetProperty("height").GetInt32(), width = c.GetProperty("width").GetInt32();
        var bodies = c.GetProperty("bodies").EnumerateArray().ToList();
        var expected = c.GetProperty("boxes").EnumerateArray().ToList();
        Assert.Equal(expected.Count, bodies.Count);
        for (var i = 0; i < bodies.Count; i++)
        {
            var body = bodies[i].EnumerateArray().Select(p => p.ValueKind == JsonValueKind.Null ? (PoseKeypoint?)null
                : new PoseKeypoint(p[0].GetSingle(), p[1].GetSingle(), 1f)).ToArray();
            var boxes = OpenPoseHand.Boxes(body, height, width);
            Assert.Equal(expected[i].EnumerateArray().Select(b => new OpenPoseHandBox(b[0].GetInt32(), b[1].GetInt32(), b[2].GetInt32(), b[3].GetBoolean())), boxes);
        }

        // Meaningful on its own: the second body's right box is clamped at column 0 and its left one cut to the right edge.
        Assert.Equal(new OpenPoseHandBox(229, 64, 26, true), OpenPoseHand.Boxes(Body(1), height, width)[0]);
        Assert.Equal(0, OpenPoseHand.Boxes(Body(1), height, width)[1].X);
        Assert.Empty(OpenPoseHand.Boxes(Body(2), height, width));

        PoseKeypoint?[] Body(int i) => [.. bodies[i].EnumerateArray().Select(p => p.ValueKind == JsonValueKind.Null ? (PoseKeypoint?)null : new PoseKeypoint(p[0].GetSingle(), p[1].GetSingle(), 1f))];
    }

    [Fact]
    public void Peaks_of_hand_made_heatmaps_are_the_references_exactly()
    {
        var c = Oracle.GetProperty("peaks");
        var side = c.GetProperty("side").GetInt32();
        var maps = Floats(c, "maps");
        var expected = c.GetProperty("points").EnumerateArray().Select(p => (p[0].GetInt32(), p[1].GetInt32())).ToList();
        const int plane = OpenPoseHand.MapSize * OpenPoseHand.MapSize;
        var actual = Enumerable.Range(0, OpenPoseHand.Points).Select(p => OpenPoseHand.Peak([.. maps.Skip(p * plane).Take(plane).Select(v => (double)v)], side)).ToList();
        Assert.Equal(expected, actual);
        // Point 1: the wide low hill's region outweighs the narrow peak at (20, 20), so its top (90, 100) is taken; point 2
        // never passes 0.05 once filtered; point 5: the broader of two hills wins although it is lower.
        Assert.Equal((90 * side / 128, 100 * side / 128), actual[1]);
        Assert.Equal((0, 0), actual[2]);
        Assert.Equal((100 * side / 128, 30 * side / 128), actual[5]);
        // Point 7: a faint hill whose filtered top (≈ 0.07) passes 0.05.
        Assert.Equal((50 * side / 128, 80 * side / 128), actual[7]);
    }

    [Fact]
    public void Hand_network_matches_torch_on_the_hashed_weights()
    {
        var c = Oracle.GetProperty("network");
        var side = c.GetProperty("side").GetInt32();
        var image = new Rgb8Image(side, side, c.GetProperty("image").GetBytesFromBase64());
        var plane = side * side;
        var pixels = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var ch = 0; ch < 3; ch++)
            pixels[ch * plane + i] = image.Pixels[3 * i + ch];

        using var checkpoint = OpenPoseHandCheckpoint.Open(OpenPoseHandWeights.Shared());
        using var session = new InferenceSession(checkpoint.BuildGraph().ToBytes());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("image", new DenseTensor<float>(pixels, [1, 3, side, side]))]);
        var heatmaps = results.First(r => r.Name == "heatmaps").AsEnumerable<float>().ToArray();
        var expected = Floats(c, "heatmaps");
        Assert.Equal(expected.Length, heatmaps.Length);
        var scale = Math.Max(1, expected.Max(Math.Abs));
        var worst = expected.Zip(heatmaps, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= 2e-3 * scale, $"heatmaps differ by up to {worst} (scale {scale})");
        Assert.True(expected.Max() - expected.Min() > 1, "the reference maps are not flat");
    }

    [Fact]
    public void The_per_box_blur_resizes_and_average_match_the_reference_within_tolerance()
    {
        var c = Oracle.GetProperty("pipeline");
        var size = c.GetProperty("size").GetInt32();
        var crop = new Rgb8Image(size, size, c.GetProperty("crop").GetBytesFromBase64());
        var sides = new List<int>();
        // make_openpose_hand.py's stand-in network: map p at cell (i, j) = the mean of channel p % 3 over the 8 × 8 cell / 255 · (1 + p / 21).
        float[] Network(float[] pixels, int side)
        {
            sides.Add(side);
            var rows = side / 8;
            var maps = new float[OpenPoseHand.Channels * rows * rows];
            for (var p = 0; p < OpenPoseHand.Channels; p++)
            for (var i = 0; i < rows; i++)
            for (var j = 0; j < rows; j++)
            {
                var sum = 0.0;
                for (var y = 0; y < 8; y++)
                for (var x = 0; x < 8; x++) sum += pixels[(p % 3) * side * side + (8 * i + y) * side + 8 * j + x];
                maps[(p * rows + i) * rows + j] = (float)(sum / 64 / 255 * (1 + p / 21.0));
            }

            return maps;
        }

        var average = OpenPoseHand.Heatmaps(crop, Network);
        Assert.Equal([184, 368, 552, 736], sides);
        var expected = Floats(c, "heatmaps");
        var actual = average.Take(expected.Length).Select(v => (float)v).ToArray();
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        // The 8-bit blur and resizes may land a level apart (1/255 of a map's scale at a pixel, smoothed by the cell means).
        Assert.True(worst <= 2e-3, $"averaged maps differ by up to {worst}");
        Assert.True(expected.Max() - expected.Min() > 0.1, "the reference maps are not flat");
    }

    [Fact]
    public void Each_box_runs_the_network_at_four_scales_and_places_its_points_in_the_box()
    {
        var image = new Rgb8Image(120, 160, [.. Enumerable.Range(0, 120 * 160 * 3).Select(i => (byte)(i * 7 % 251))]);
        var box = new OpenPoseHandBox(50, 30, 45, Left: true);
        var sides = new List<int>();
        // A stand-in network whose point p peaks at a known cell of its output grid, so the restored peak is predictable.
        float[] Network(float[] pixels, int side)
        {
            sides.Add(side);
            Assert.Equal(3 * side * side, pixels.Length);
            var rows = side / 8;
            var maps = new float[OpenPoseHand.Channels * rows * rows];
            for (var p = 0; p < OpenPoseHand.Points; p++)
            {
                int cx = (2 + p) * rows / 24, cy = (22 - p) * rows / 24;
                for (var y = 0; y < rows; y++)
                for (var x = 0; x < rows; x++)
                    maps[(p * rows + y) * rows + x] = (float)Math.Exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) * 64.0 / (rows * rows));
            }

            return maps;
        }

        var points = OpenPoseHand.Estimate(image, box, Network);
        Assert.Equal([184, 368, 552, 736], sides);
        Assert.All(points, p => Assert.NotNull(p));
        for (var p = 0; p < OpenPoseHand.Points; p++)
        {
            var (x, y) = (points[p]!.Value.X - box.X, points[p]!.Value.Y - box.Y);
            // The blob's centre in the crop, within a few pixels of the resampling.
            Assert.InRange(x, (2 + p) * 45 / 24.0 - 3, (2 + p) * 45 / 24.0 + 4);
            Assert.InRange(y, (22 - p) * 45 / 24.0 - 3, (22 - p) * 45 / 24.0 + 4);
        }

        var crop = OpenPoseHand.Crop(image, box);
        Assert.Equal((45, 45), (crop.Height, crop.Width));
        Assert.Equal(image.Pixels.AsSpan(3 * (30 * 160 + 50), 3).ToArray(), crop.Pixels.AsSpan(0, 3).ToArray());
    }

    [Fact]
    public async Task Hands_on_with_both_files_draws_the_pose_image()
    {
        using var temp = new TempFolder();
        var run = (await RunAsync(WriteImage(temp), OpenPoseHandWeights.Shared())).AssertCompleted();
        var pose = Assert.IsType<Image>(run.Result.Output("openpose", "pose"));
        Assert.Equal((64, 85), (pose.Height, pose.Width));
    }

    [Theory]
    [InlineData("missing", "hand_pose_model.pth")]
    [InlineData("garbage", "hand_pose_model.pth")]
    [InlineData("skip", "Mconv4_stage5.weight")]
    [InlineData("reshape", "conv6_2_CPM.weight")]
    public async Task Broken_hand_weights_fail_naming_hand_model_the_file_and_what_is_wrong(string damage, string expected)
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, $"hand-{damage}", "hand_pose_model.pth");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (damage == "garbage") File.WriteAllBytes(path, Encoding.ASCII.GetBytes("not a torch file at all"));
        else if (damage != "missing") OpenPoseHandWeights.Write(path, skip: damage == "skip" ? expected : null, reshape: damage == "reshape" ? expected : null);
        var run = await RunAsync(WriteImage(temp), path);
        run.AssertFailed("openpose", path, expected);
        if (damage == "missing") Assert.Contains("hand_model: '", run.Result.Error);
    }

    private static float[] Floats(JsonElement c, string name)
    {
        var bytes = c.GetProperty(name).GetBytesFromBase64();
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    private static Task<SdRun> RunAsync(string image, string handWeights) => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: openpose
        nodes:
          source: { node: image.load, with: { path: "{{image.Replace('\\', '/')}}" } }
          openpose: { node: image.openpose, in: { image: source.image }, with: { model: "{{OpenPoseBodyWeights.Shared().Replace('\\', '/')}}", hands: true, hand_model: "{{handWeights.Replace('\\', '/')}}", resolution: 64 } }
        """, new Dictionary<string, object?>());

    private static string WriteImage(TempFolder temp)
    {
        var path = Path.Combine(temp.Path, "people.png");
        TestPng.WriteRgb(path, 40, 30, (x, y) => ((byte)(x * 6), (byte)(y * 8), (byte)(128 + x - y)));
        return path;
    }
}
