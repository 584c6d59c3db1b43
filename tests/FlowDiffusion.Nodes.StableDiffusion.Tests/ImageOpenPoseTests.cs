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
/// image.openpose against tools/reference/make_openpose_body.py: the decoding of synthetic heatmaps and PAFs (two people and
/// a stray peak, one person faint) into the reference's candidates and subsets exactly; the network of a body_pose_model.pth in the published
/// layout (the reference's hashed weights) and the map restoration against torch within tolerance; the node's errors.
/// </summary>
public sealed class ImageOpenPoseTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "openpose-body-reference.json"))).RootElement;

    [Fact]
    public void Decoding_synthetic_maps_gives_the_references_candidates_and_people_exactly()
    {
        var c = Oracle.GetProperty("decode");
        int height = c.GetProperty("height").GetInt32(), width = c.GetProperty("width").GetInt32(), plane = height * width;
        var heat = Floats(c, "heatmaps");
        var pafs = Floats(c, "pafs");
        var asked = new HashSet<string>();
        var result = OpenPoseBodyParts.Decode(height, width,
            p => { Assert.True(asked.Add($"h{p}")); return [.. heat.Skip(p * plane).Take(plane).Select(v => (double)v)]; },
            ch => { Assert.True(asked.Add($"p{ch}")); return [.. pafs.Skip(ch * plane).Take(plane).Select(v => (double)v)]; });

        var candidates = c.GetProperty("candidates").EnumerateArray().ToList();
        Assert.Equal(candidates.Count, result.Candidates.Count);
        for (var i = 0; i < candidates.Count; i++)
        {
            var e = candidates[i].EnumerateArray().ToList();
            Assert.Equal((e[0].GetInt32(), e[1].GetInt32(), e[2].GetDouble(), e[3].GetInt32()),
                (result.Candidates[i].X, result.Candidates[i].Y, result.Candidates[i].Score, result.Candidates[i].Id));
        }

        var subsets = c.GetProperty("subsets").EnumerateArray().Select(s => s.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToList();
        Assert.Equal(subsets.Count, result.Subsets.Count);
        for (var i = 0; i < subsets.Count; i++) Assert.Equal(subsets[i], result.Subsets[i]);

        // Meaningful on its own: the two planted people come back at their points (the second without its right elbow,
        // wrist, ankle and ears), the stray wrist in neither. The second's left ankle, planted at (67, 68) four rows above
        // the bottom, peaks at (67, 71) once filtered ('reflect' mirrors it past the edge), off its limb's PAF, so that
        // person ends at the knee, as in the annotator.
        var people = result.People();
        Assert.Equal(3, people.Count);
        Assert.Equal(18, people[0].Body.Count(p => p is not null));
        Assert.Equal((20f, 12f), (people[0].Body[0]!.Value.X, people[0].Body[0]!.Value.Y));
        Assert.Equal((29f, 39f), (people[0].Body[7]!.Value.X, people[0].Body[7]!.Value.Y));
        Assert.Equal(12, people[1].Body.Count(p => p is not null));
        Assert.Equal((61f, 25f), (people[1].Body[1]!.Value.X, people[1].Body[1]!.Value.Y));
        Assert.Null(people[1].Body[13]);
        Assert.Contains(result.Candidates, p => (p.X, p.Y) == (67, 71));
        Assert.DoesNotContain(people, p => p.Body[4] is { X: 44 });
        // The faint third person (four parts, mean score 0.495) passes the 0.4 filter.
        Assert.Equal(4, people[2].Body.Count(p => p is not null));
        Assert.Equal(0.495, result.Subsets[2][18] / result.Subsets[2][19], 1e-6);
    }

    [Fact]
    public void Network_and_map_restoration_match_torch_on_the_hashed_weights()
    {
        var c = Oracle.GetProperty("network");
        int height = c.GetProperty("height").GetInt32(), width = c.GetProperty("width").GetInt32();
        var image = new Rgb8Image(height, width, c.GetProperty("image").GetBytesFromBase64());
        var input = OpenPoseBody.NetworkInput(image);
        var scaled = c.GetProperty("scaled").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        Assert.Equal((scaled[0], scaled[1]), (input.ScaledHeight, input.ScaledWidth));

        using var checkpoint = OpenPoseBodyCheckpoint.Open(OpenPoseBodyWeights.Shared());
        using var session = new InferenceSession(checkpoint.BuildGraph().ToBytes());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("image", new DenseTensor<float>(input.Pixels, [1, 3, input.Height, input.Width]))]);
        var pafs = results.First(r => r.Name == "pafs").AsEnumerable<float>().ToArray();
        var heatmaps = results.First(r => r.Name == "heatmaps").AsEnumerable<float>().ToArray();
        AssertClose("pafs", Floats(c, "pafs"), pafs, 2e-3);
        AssertClose("heatmaps", Floats(c, "heatmaps"), heatmaps, 2e-3);
        Assert.Contains(heatmaps, v => v > 0.1f);

        int rows = input.Height / 8, columns = input.Width / 8;
        var restoredHeat = Enumerable.Range(0, 19).SelectMany(p => OpenPoseBody.Restore(heatmaps, p, rows, columns, input.ScaledHeight, input.ScaledWidth, height, width)).Select(v => (float)v).ToArray();
        var restoredPafs = Enumerable.Range(0, 38).SelectMany(p => OpenPoseBody.Restore(pafs, p, rows, columns, input.ScaledHeight, input.ScaledWidth, height, width)).Select(v => (float)v).ToArray();
        AssertClose("restored heatmaps", Floats(c, "restored_heatmaps"), restoredHeat, 2e-3);
        AssertClose("restored pafs", Floats(c, "restored_pafs"), restoredPafs, 2e-3);
    }

    [Fact]
    public async Task The_node_draws_the_pose_image_at_the_scaled_size()
    {
        using var temp = new TempFolder();
        var run = (await RunAsync(WriteImage(temp), OpenPoseBodyWeights.Shared(), resolution: 64)).AssertCompleted();
        var pose = Assert.IsType<Image>(run.Result.Output("openpose", "pose"));
        Assert.Equal((64, 85), (pose.Height, pose.Width));
    }

    [Fact]
    public async Task Missing_weights_fail_naming_the_file_and_the_annotators_folder()
    {
        using var temp = new TempFolder();
        var run = await RunAsync(WriteImage(temp), Path.Combine(temp.Path, "body_pose_model.pth"));
        run.AssertFailed("openpose", "body_pose_model.pth", "models/annotators");
    }

    [Theory]
    [InlineData("garbage", "body_pose_model.pth")]
    [InlineData("skip", "Mconv3_stage4_L2.weight")]
    [InlineData("reshape", "conv5_5_CPM_L1.weight")]
    public async Task Broken_weights_fail_naming_the_file_and_what_is_wrong(string damage, string expected)
    {
        using var temp = new TempFolder();
        var path = AnnotatorWeightsDamage.Write(temp, "openpose", "body_pose_model.pth", damage, expected, (file, skip, reshape) => OpenPoseBodyWeights.Write(file, skip: skip, reshape: reshape));
        var run = await RunAsync(WriteImage(temp), path);
        run.AssertFailed("openpose", path, expected);
    }

    private static void AssertClose(string what, float[] expected, float[] actual, double tolerance)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, {expected.Length} expected");
        var scale = Math.Max(1, expected.Max(Math.Abs));
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= tolerance * scale, $"{what}: differs by up to {worst} (scale {scale})");
    }

    private static float[] Floats(JsonElement c, string name)
    {
        var bytes = c.GetProperty(name).GetBytesFromBase64();
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    private static Task<SdRun> RunAsync(string image, string weights, int resolution = 64) => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: openpose
        nodes:
          source: { node: image.load, with: { path: "{{image.Replace('\\', '/')}}" } }
          openpose: { node: image.openpose, in: { image: source.image }, with: { model: "{{weights.Replace('\\', '/')}}", resolution: {{resolution}} } }
        """, new Dictionary<string, object?>());

    private static string WriteImage(TempFolder temp)
    {
        var path = Path.Combine(temp.Path, "people.png");
        TestPng.WriteRgb(path, 40, 30, (x, y) => ((byte)(x * 6), (byte)(y * 8), (byte)(128 + x - y)));
        return path;
    }
}
