using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.pose on generated ONNX models whose outputs are known in closed form: a 64 × 64 "YOLOX" emitting one person
/// (stride 16, cell (1, 2): box (8, 12)–(40, 60) in its input, score 0.9 × 0.8) and a 48 × 64 "RTMPose" emitting SimCC
/// peaks at chosen bins. On a 96 × 128 image the letterbox ratio is 0.5, so the person is (16, 24)–(80, 120); padded by
/// 1.25 and widened to the 3 : 4 input that is a 90 × 120 crop around (48, 72), so SimCC bin (bx, by) (split ratio 2)
/// lands on image pixel (0.9375·bx + 3, 0.9375·by + 12).
/// </summary>
public sealed class ImagePoseTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public ImagePoseTests()
    {
        Write("detector.onnx", PoseStandIns.Detector(84));
        Write("wrong-anchors.onnx", PoseStandIns.Detector(80));
        Write("pose.onnx", PoseStandIns.PoseModel(twoOutputs: true));
        Write("one-output.onnx", PoseStandIns.PoseModel(twoOutputs: false));
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task The_detected_person_is_drawn_in_openpose_colours_at_the_keypoints_mapped_back_through_box_and_crop()
    {
        var pose = (await RunAsync("detector.onnx", "pose.onnx")).Image("pose", "pose");
        Assert.Equal((128, 96), (pose.Height, pose.Width));

        // Limbs at 0.6 × colour: neck (48, 42) → right shoulder (18, 42), red; → left shoulder (78, 42), orange; right
        // shoulder → right elbow (18, 72), (255, 170, 0).
        Assert.Equal((153, 0, 0), Rgb(pose, 33, 42));
        Assert.Equal((153, 51, 0), Rgb(pose, 63, 42));
        Assert.Equal((153, 102, 0), Rgb(pose, 18, 57));
        // Points in full colour: neck (1), right shoulder (2), left shoulder (5), right elbow (3).
        Assert.Equal((255, 85, 0), Rgb(pose, 48, 42));
        Assert.Equal((255, 170, 0), Rgb(pose, 18, 42));
        Assert.Equal((85, 255, 0), Rgb(pose, 78, 42));
        Assert.Equal((255, 255, 0), Rgb(pose, 18, 72));
        // The left hand's first bone (hue 0) between two blue points, and a white face point.
        Assert.Equal((255, 0, 0), Rgb(pose, 63, 102));
        Assert.Equal((0, 0, 255), Rgb(pose, 48, 102));
        Assert.Equal((0, 0, 255), Rgb(pose, 78, 102));
        Assert.Equal((255, 255, 255), Rgb(pose, 48, 27));
        // Black elsewhere: nothing else is confident.
        Assert.Equal((0, 0, 0), Rgb(pose, 5, 5));
        Assert.Equal((0, 0, 0), Rgb(pose, 48, 60));
        Assert.Equal((0, 0, 0), Rgb(pose, 90, 120));
        Assert.Equal((0, 0, 0), Rgb(pose, 18, 90));
        var lit = Enumerable.Range(0, 128 * 96).Count(i => pose.Pixels[i] + pose.Pixels[128 * 96 + i] + pose.Pixels[2 * 128 * 96 + i] > 0);
        Assert.InRange(lit, 300, 1500);
    }

    [Fact]
    public async Task Hands_and_face_can_be_left_out()
    {
        var pose = (await RunAsync("detector.onnx", "pose.onnx", hands: false, face: false)).Image("pose", "pose");
        Assert.Equal((153, 0, 0), Rgb(pose, 33, 42));
        Assert.Equal((0, 0, 0), Rgb(pose, 63, 102));
        Assert.Equal((0, 0, 0), Rgb(pose, 48, 102));
        Assert.Equal((0, 0, 0), Rgb(pose, 48, 27));
    }

    [Fact]
    public async Task A_missing_model_fails_naming_the_node_the_parameter_the_file_and_the_annotators_folder()
    {
        var run = await SdEngine.Shared.RunYamlAsync(Yaml(Path.Combine(_folder.Path, "no-yolox.onnx"), Path.Combine(_folder.Path, "pose.onnx"), true, true), new Dictionary<string, object?>());
        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Equal("pose", run.Result.FailedNode);
        Assert.Contains("detector", run.Result.Error);
        Assert.Contains("no-yolox.onnx", run.Result.Error);
        Assert.Contains("models/annotators", run.Result.Error);
    }

    [Theory]
    [InlineData("wrong-anchors.onnx", "pose.onnx", "wrong-anchors.onnx", "80 anchors")]
    [InlineData("detector.onnx", "one-output.onnx", "one-output.onnx", "simcc_x")]
    public async Task A_model_of_the_wrong_shape_fails_naming_the_file_and_what_was_expected(string detector, string model, string file, string expected)
    {
        var run = await SdEngine.Shared.RunYamlAsync(Yaml(Path.Combine(_folder.Path, detector), Path.Combine(_folder.Path, model), true, true), new Dictionary<string, object?>());
        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Equal("pose", run.Result.FailedNode);
        Assert.Contains(file, run.Result.Error);
        Assert.Contains(expected, run.Result.Error);
    }

    [Fact]
    public async Task The_shipped_workflow_steers_the_tiny_checkpoint_with_the_drawn_pose()
    {
        var data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
        var inputs = new Dictionary<string, object?>
        {
            ["model"] = Path.Combine(data, "ldm-fp16.safetensors"), ["tokenizer_folder"] = "models/tiny-sd/tokenizer",
            ["controlnet"] = Path.Combine(data, "controlnet", "control-ldm-fp16.safetensors"),
            ["detector"] = Path.Combine(_folder.Path, "detector.onnx"), ["pose_model"] = Path.Combine(_folder.Path, "pose.onnx"),
            ["width"] = "64", ["height"] = "64", ["steps"] = "3", ["seed"] = "5", ["cfg"] = "5", ["prompt"] = "a dancer",
        };
        var controlled = (await SdEngine.Shared.RunFileAsync("pose-controlnet.yaml", inputs)).AssertCompleted();
        var zero = (await SdEngine.Shared.RunFileAsync("pose-controlnet.yaml", new Dictionary<string, object?>(inputs) { ["strength"] = "0" })).AssertCompleted();

        // On the 512 × 512 sample (ratio 0.125) the crop is 360 × 480 around (192, 288): bin (bx, by) → (3.75·bx + 12,
        // 3.75·by + 48), so the neck → right shoulder limb runs from (192, 168) to (72, 168).
        var pose = controlled.Image("pose", "pose");
        Assert.Equal((512, 512), (pose.Height, pose.Width));
        Assert.Equal((153, 0, 0), Rgb(pose, 132, 168));
        Assert.Equal((255, 85, 0), Rgb(pose, 192, 168));
        Assert.Equal((0, 0, 0), Rgb(pose, 132, 300));
        var image = controlled.Image();
        Assert.Equal((64, 64), (image.Height, image.Width));
        Assert.NotEmpty(controlled.Result.OutputFiles);
        Assert.True(image.ToArray().Zip(zero.Image().ToArray()).Max(p => Math.Abs(p.First - p.Second)) > 0.01, "the pose ControlNet must change the image");
    }

    private void Write(string name, OnnxModel model) => File.WriteAllBytes(Path.Combine(_folder.Path, name), model.ToBytes());

    private async Task<SdRun> RunAsync(string detector, string model, bool hands = true, bool face = true) =>
        (await SdEngine.Shared.RunYamlAsync(Yaml(Path.Combine(_folder.Path, detector), Path.Combine(_folder.Path, model), hands, face), new Dictionary<string, object?>())).AssertCompleted();

    private static string Yaml(string detector, string model, bool hands, bool face) => $$"""
        flowdiffusion: 1
        name: pose
        nodes:
          image: { node: image.load, with: { path: workflows/assets/landscape.png } }
          small: { node: image.resize, in: { image: image.image }, with: { width: 96, height: 128, method: area } }
          pose: { node: image.pose, in: { image: small.resized }, with: { detector: "{{detector}}", model: "{{model}}", hands: {{(hands ? "true" : "false")}}, face: {{(face ? "true" : "false")}} } }
        """;

    private static (int R, int G, int B) Rgb(Sdk.Values.Image image, int x, int y)
    {
        var plane = image.Height * image.Width;
        int Byte(float v) => (int)MathF.Round(v * 255);
        return (Byte(image.Pixels[y * image.Width + x]), Byte(image.Pixels[plane + y * image.Width + x]), Byte(image.Pixels[2 * plane + y * image.Width + x]));
    }
}
