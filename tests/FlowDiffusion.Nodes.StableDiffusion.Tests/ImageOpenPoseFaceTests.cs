using System.Text;
using System.Text.Json;
using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Imaging.Preprocessors.Pose;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.openpose's faces against tools/reference/make_openpose_face.py: faceDetect's boxes from body points and the points
/// of hand-made heatmaps (enlarged to the crop, the maps under 0.05 skipped) exactly; the crop's 384² input exactly; the face
/// network of a facenet.pth in the published layout (the reference's hashed weights) against torch within tolerance; the
/// white dots; the node's errors naming face_model.
/// </summary>
public sealed class ImageOpenPoseFaceTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "openpose-face-reference.json"))).RootElement;

    [Fact]
    public void Face_boxes_from_body_points_are_the_references()
    {
        var c = Oracle.GetProperty("boxes");
        int height = c.GetProperty("height").GetInt32(), width = c.GetProperty("width").GetInt32();
        var bodies = c.GetProperty("bodies").EnumerateArray().Select(Body).ToList();
        var expected = c.GetProperty("boxes").EnumerateArray()
            .Select(b => b.ValueKind == JsonValueKind.Null ? (OpenPoseFaceBox?)null : new OpenPoseFaceBox(b[0].GetInt32(), b[1].GetInt32(), b[2].GetInt32())).ToList();
        Assert.Equal(expected, bodies.Select(b => OpenPoseFace.Box(b, height, width)));

        // Meaningful on their own: the ears decide the first box; the second is clamped at the corner and keeps its side; the
        // third ends past the right edge (the annotator cuts only where the corner plus half the side passes it); the fourth is
        // cut to the height; a box under 20 px, a body without a nose, and a nose without eyes or ears give none.
        Assert.Equal(new OpenPoseFaceBox(76, 56, 48), expected[0]);
        Assert.Equal(new OpenPoseFaceBox(0, 0, 60), expected[1]);
        Assert.Equal(new OpenPoseFaceBox(222, 77, 45), expected[2]);
        Assert.Equal(new OpenPoseFaceBox(0, 0, 200), expected[3]);
        Assert.Null(expected[4]);
        Assert.Null(expected[5]);
        Assert.Null(expected[6]);
    }

    [Fact]
    public void Points_of_hand_made_heatmaps_are_the_references_exactly()
    {
        var c = Oracle.GetProperty("peaks");
        var maps = Floats(c, "maps");
        const int rows = OpenPoseFace.Side / OpenPoseFace.Stride, plane = rows * rows;
        var crops = c.GetProperty("crops").EnumerateArray().Select(s => (s[0].GetInt32(), s[1].GetInt32())).ToList();
        var points = c.GetProperty("points").EnumerateArray().ToList();
        for (var k = 0; k < crops.Count; k++)
        {
            var (height, width) = crops[k];
            var expected = points[k].EnumerateArray().Select(p => (p[0].GetInt32(), p[1].GetInt32())).ToList();
            var actual = Enumerable.Range(0, OpenPoseFace.Channels)
                .Select(m => OpenPoseFace.Peak(maps.AsSpan(m * plane, plane), rows, rows, height, width))
                .Where(p => p is not null).Select(p => p!.Value).ToList();
            Assert.Equal(expected, actual);
            // Map 5 never passes 0.05, so 70 points; map 9's point (the 9th) is at column 0; map 17's only value above 0.05 is its last pixel (the 17th point).
            Assert.Equal(70, actual.Count);
            Assert.Equal(0, actual[8].X);
            Assert.Equal((width - 1, height - 1), actual[16]);
        }

        // Through Estimate: the box past the image's right edge gives the first crop (45 × 34); the points move by its corner
        // and the one at column 0 is missing.
        var image = new Rgb8Image(200, 256, new byte[200 * 256 * 3]);
        var box = new OpenPoseFaceBox(222, 77, 45);
        var face = OpenPoseFace.Estimate(image, box, pixels =>
        {
            Assert.Equal(3 * OpenPoseFace.Side * OpenPoseFace.Side, pixels.Length);
            return maps;
        })!;
        var first = points[0].EnumerateArray().Select(p => (p[0].GetInt32(), p[1].GetInt32())).ToList();
        Assert.Equal(first.Count, face.Length);
        Assert.Null(face[8]);
        // A point at the crop's column or row 0 is missing (either coordinate, as the annotator tests each).
        for (var i = 0; i < face.Length; i++)
        {
            if (first[i].Item1 == 0 || first[i].Item2 == 0) Assert.Null(face[i]);
            else Assert.Equal((first[i].Item1 + 222f, first[i].Item2 + 77f), (face[i]!.Value.X, face[i]!.Value.Y));
        }
    }

    [Fact]
    public void The_crop_is_resized_to_384_as_the_annotator_does()
    {
        var c = Oracle.GetProperty("input");
        int height = c.GetProperty("height").GetInt32(), width = c.GetProperty("width").GetInt32();
        var crop = new Rgb8Image(height, width, c.GetProperty("crop").GetBytesFromBase64());
        var expected = c.GetProperty("pixels").GetBytesFromBase64();
        var input = OpenPoseFace.Input(crop);
        const int plane = OpenPoseFace.Side * OpenPoseFace.Side;
        var actual = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var ch = 0; ch < 3; ch++)
            actual[3 * i + ch] = (byte)input[ch * plane + i];
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Face_network_matches_torch_on_the_hashed_weights()
    {
        var c = Oracle.GetProperty("network");
        var side = c.GetProperty("side").GetInt32();
        var image = new Rgb8Image(side, side, c.GetProperty("image").GetBytesFromBase64());
        var plane = side * side;
        var pixels = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var ch = 0; ch < 3; ch++)
            pixels[ch * plane + i] = image.Pixels[3 * i + ch];

        using var checkpoint = OpenPoseFaceCheckpoint.Open(OpenPoseFaceWeights.Shared());
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
    public void Face_points_are_white_dots_of_radius_3_and_missing_ones_are_not_drawn()
    {
        PoseKeypoint?[] face = [new PoseKeypoint(20, 15, 1), null, new PoseKeypoint(0, 30, 1), new PoseKeypoint(40, 25, 1)];
        var person = new OpenPoseKeypoints(new PoseKeypoint?[18], null, null, face);
        var drawn = OpenPoseBody.Draw([person], 40, 60, faces: true);
        byte[] Pixel(int x, int y) => drawn.Pixels.AsSpan(3 * (y * 60 + x), 3).ToArray();
        Assert.Equal(new byte[] { 255, 255, 255 }, Pixel(20, 15));
        Assert.Equal(new byte[] { 255, 255, 255 }, Pixel(23, 15));
        Assert.Equal(new byte[] { 255, 255, 255 }, Pixel(42, 27));
        Assert.Equal(new byte[] { 0, 0, 0 }, Pixel(24, 15));
        Assert.Equal(new byte[] { 0, 0, 0 }, Pixel(23, 18));
        Assert.Equal(new byte[] { 0, 0, 0 }, Pixel(1, 30));
        // 2 dots of 29 pixels (dx² + dy² ≤ 9), nothing else.
        Assert.Equal(2 * 29, Enumerable.Range(0, 40 * 60).Count(i => drawn.Pixels[3 * i] == 255));
        Assert.All(OpenPoseBody.Draw([person], 40, 60, faces: false).Pixels, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Faces_on_with_both_files_draws_the_pose_image(bool body)
    {
        using var temp = new TempFolder();
        var run = (await RunAsync(WriteImage(temp), OpenPoseFaceWeights.Shared(), body)).AssertCompleted();
        var pose = Assert.IsType<Image>(run.Result.Output("openpose", "pose"));
        Assert.Equal((64, 85), (pose.Height, pose.Width));
    }

    [Theory]
    [InlineData("missing", "facenet.pth")]
    [InlineData("garbage", "facenet.pth")]
    [InlineData("skip", "Mconv3_stage4.weight")]
    [InlineData("reshape", "conv6_2_CPM.weight")]
    public async Task Broken_face_weights_fail_naming_face_model_the_file_and_what_is_wrong(string damage, string expected)
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, $"face-{damage}", "facenet.pth");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (damage == "garbage") File.WriteAllBytes(path, Encoding.ASCII.GetBytes("not a torch file at all"));
        else if (damage != "missing") OpenPoseFaceWeights.Write(path, skip: damage == "skip" ? expected : null, reshape: damage == "reshape" ? expected : null);
        var run = await RunAsync(WriteImage(temp), path, body: true);
        run.AssertFailed("openpose", path, expected);
        if (damage == "missing") Assert.Contains("face_model: '", run.Result.Error);
    }

    [Fact]
    public void A_hand_file_is_not_a_face_file()
    {
        var error = Assert.ThrowsAny<Exception>(() => OpenPoseFaceCheckpoint.Open(OpenPoseHandWeights.Shared()));
        Assert.Contains("conv6_2_CPM.weight", error.Message);
    }

    private static PoseKeypoint?[] Body(JsonElement points) =>
        [.. points.EnumerateArray().Select(p => p.ValueKind == JsonValueKind.Null ? (PoseKeypoint?)null : new PoseKeypoint(p[0].GetSingle(), p[1].GetSingle(), 1f))];

    private static float[] Floats(JsonElement c, string name)
    {
        var bytes = c.GetProperty(name).GetBytesFromBase64();
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    private static Task<SdRun> RunAsync(string image, string faceWeights, bool body) => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: openpose
        nodes:
          source: { node: image.load, with: { path: "{{image.Replace('\\', '/')}}" } }
          openpose: { node: image.openpose, in: { image: source.image }, with: { model: "{{OpenPoseBodyWeights.Shared().Replace('\\', '/')}}", body: {{(body ? "true" : "false")}}, faces: true, face_model: "{{faceWeights.Replace('\\', '/')}}", resolution: 64 } }
        """, new Dictionary<string, object?>());

    private static string WriteImage(TempFolder temp)
    {
        var path = Path.Combine(temp.Path, "people.png");
        TestPng.WriteRgb(path, 40, 30, (x, y) => ((byte)(x * 6), (byte)(y * 8), (byte)(128 + x - y)));
        return path;
    }
}
