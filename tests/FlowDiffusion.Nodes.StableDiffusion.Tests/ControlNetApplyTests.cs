using System.Globalization;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// controlnet.load and controlnet.apply on the tiny SD 1.x checkpoint and its tiny ControlNet, through model.load and real
/// ONNX Runtime sessions, against torch (tools/reference/make_controlnet.py: the UNet with the ControlNet's residuals × strength
/// added to its skips and middle block), and the shipped controlnet-txt2img workflow.
/// </summary>
public sealed class ControlNetApplyTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "ldm-fp16.safetensors");
    private static readonly string ControlFolder = Path.Combine(Data, "controlnet");

    [Fact]
    public async Task The_UNet_with_an_applied_ControlNet_matches_torch_and_two_stack_by_adding_their_scaled_residuals()
    {
        var run = await RunAsync(Apply("one", "positive", "hint-a.png", 0.6f), Apply("first", "positive", "hint-a.png", 0.7f), Apply("second", "first", "hint-b.png", 0.4f));
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));

        AssertClose(Ref("e2e.plain"), await PredictAsync(unet, Extras.Empty), 1e-4, "without ControlNet");
        AssertClose(Ref("e2e.controlled"), await PredictAsync(unet, ExtrasOf(run, "one")), 1e-4, "one ControlNet at 0.6");
        AssertClose(Ref("e2e.stacked"), await PredictAsync(unet, ExtrasOf(run, "second")), 1e-4, "two ControlNets at 0.7 and 0.4");
        Assert.True(MaxDifference(Ref("e2e.controlled"), Ref("e2e.plain")) > 0.1, "the ControlNet must move the prediction");
    }

    [Fact]
    public async Task Guess_mode_scales_residual_i_of_n_by_0_825_to_the_n_minus_1_minus_i_as_torch_does()
    {
        var run = await RunAsync(Apply("guess", "positive", "hint-a.png", 0.6f, guess: true));
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));

        var guess = await PredictAsync(unet, ExtrasOf(run, "guess"));
        AssertClose(Ref("e2e.guess"), guess, 1e-4, "guess mode at 0.6");
        Assert.True(MaxDifference(Ref("e2e.guess"), Ref("e2e.controlled")) > 0.1, "guess mode must differ from plain strength 0.6");
    }

    [Fact]
    public async Task The_same_hint_on_two_batched_rows_gives_each_row_its_strength_and_twice_on_one_conditioning_adds_up()
    {
        // ComfyUI's ControlNetApplyAdvanced: one image and strength on both conditionings. Batched as a guider does, the
        // equal hints share one entry with both rows' strengths; applied twice to one conditioning they add up (0.3 + 0.3).
        var run = await RunAsync(Apply("pos", "positive", "hint-a.png", 0.6f), Apply("twice_a", "positive", "hint-a.png", 0.3f), Apply("twice_b", "twice_a", "hint-a.png", 0.3f));
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        AssertClose(Ref("e2e.controlled"), await PredictAsync(unet, ExtrasOf(run, "twice_b")), 1e-4, "0.3 + 0.3 on one conditioning");

        var positive = Assert.IsType<Conditioning>(run.Result.Output("pos", "result"));
        var batched = Conditioning.Batched([new ConditioningRows(positive, 1), new ConditioningRows(positive, 1)]);
        var context = new Conditioning(2, 77, 64, [.. Ref("e2e.encoder_hidden_states").Values, .. Ref("e2e.encoder_hidden_states").Values]).WithExtras(batched.Extras);
        var sample = Ref("e2e.sample").Values;
        var both = await unet.PredictAsync(new DenoiserInput(new float[][] { sample, sample }.SelectMany(v => v).ToArray(), new LatentShape(2, 4, 8, 8), Ref("e2e.timestep").Values[0], context), CancellationToken.None);
        AssertClose(Ref("e2e.controlled"), (both[..256], [1, 4, 8, 8]), 1e-4, "row 0 of the shared entry");
        AssertClose(Ref("e2e.controlled"), (both[256..], [1, 4, 8, 8]), 1e-4, "row 1 of the shared entry");
    }

    [Theory]
    [InlineData("control_v11e_sd15_shuffle.safetensors", "e2e.shuffle")]
    [InlineData("control_v11e_sd15_shuffle_fp16.safetensors", "e2e.shuffle")]
    [InlineData("control_v11e_sd15_shuffled.safetensors", "e2e.controlled")]
    public async Task A_shuffle_ControlNet_pools_its_residuals_globally_as_ComfyUI_does_by_its_name(string file, string expected)
    {
        // ComfyUI tells ControlNet 1.1's shuffle model by its file name (_shuffle, _shuffle_fp16) and averages each
        // residual over height and width (tools/reference/make_controlnet_shuffle.py).
        var folder = Path.Combine(Path.GetTempPath(), $"shuffle-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var copy = Path.Combine(folder, file);
            File.Copy(Path.Combine(ControlFolder, "control-ldm-fp16.safetensors"), copy);
            var run = (await SdEngine.Shared.RunYamlAsync(YamlWith(Checkpoint, copy, Apply("one", "positive", "hint-a.png", 0.6f)), new Dictionary<string, object?>())).AssertCompleted();
            var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
            var reference = expected == "e2e.shuffle" ? ShuffleRef(expected) : Ref(expected);
            AssertClose(reference, await PredictAsync(unet, ExtrasOf(run, "one")), 1e-4, $"{file} at 0.6");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_diff_ControlNet_adds_the_UNet_weights_to_its_own_as_ComfyUI_does()
    {
        // tools/reference/make_controlnet_diff.py: the tiny ControlNet less the checkpoint UNet's weights, F16, marked 'difference'.
        var diff = Path.Combine(ControlFolder, "diff", "diff_control_tiny_fp16.safetensors");
        var run = (await SdEngine.Shared.RunYamlAsync(YamlWith(Checkpoint, diff, Apply("one", "positive", "hint-a.png", 0.6f)), new Dictionary<string, object?>())).AssertCompleted();
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        AssertClose(Read(Path.Combine(ControlFolder, "diff", "reference.safetensors"), "e2e.diff"), await PredictAsync(unet, ExtrasOf(run, "one")), 1e-4, "diff ControlNet at 0.6");

        // Converted alone (model-run's --controlnet) it would be the differences only: refused by name.
        var error = Assert.Throws<Checkpoints.CheckpointException>(() => Checkpoints.ControlNet.ControlNetCheckpoint.Open(diff).Dispose());
        Assert.Contains("a diff ControlNet", error.Message);
    }

    [Fact]
    public async Task Strength_zero_and_steps_outside_the_window_give_the_plain_prediction()
    {
        var run = await RunAsync(Apply("zero", "positive", "hint-a.png", 0f), Apply("late", "positive", "hint-a.png", 0.6f, start: 0.5f));
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        var plain = await PredictAsync(unet, Extras.Empty);

        Assert.Equal(plain.Values, (await PredictAsync(unet, ExtrasOf(run, "zero"))).Values);
        // Timestep 999 is the start of the schedule; a ControlNet starting half way is not active yet.
        Assert.Equal(plain.Values, (await PredictAsync(unet, ExtrasOf(run, "late"))).Values);
        // At timestep 17 (the end of the schedule) it is.
        Assert.True(MaxDifference(await PredictAsync(unet, Extras.Empty, 17f), await PredictAsync(unet, ExtrasOf(run, "late"), 17f)) > 0.05);
    }

    [Fact]
    public async Task The_shipped_workflow_runs_on_the_tiny_checkpoint_and_strength_zero_draws_what_txt2img_draws()
    {
        var common = new Dictionary<string, object?>
        {
            ["model"] = Checkpoint, ["width"] = "64", ["height"] = "64", ["steps"] = "3", ["seed"] = "5", ["cfg"] = "5",
            ["scheduler"] = "euler", ["prompt"] = "a house", ["negative"] = "",
        };
        var control = new Dictionary<string, object?>(common)
        {
            ["controlnet"] = Path.Combine(Data, "controlnet", "control-ldm-fp16.safetensors"), ["tokenizer_folder"] = "models/tiny-sd/tokenizer",
        };
        var controlled = (await SdEngine.Shared.RunFileAsync("controlnet-txt2img.yaml", control)).AssertCompleted();
        var zero = (await SdEngine.Shared.RunFileAsync("controlnet-txt2img.yaml", new Dictionary<string, object?>(control) { ["strength"] = "0" })).AssertCompleted();
        var plain = (await SdEngine.Shared.RunYamlAsync(
            File.ReadAllText(Path.Combine(RepositoryRoot.Path, "workflows", "txt2img.yaml")).Replace("      path: $model", "      path: $model\n      tokenizer_folder: models/tiny-sd/tokenizer", StringComparison.Ordinal),
            common)).AssertCompleted();

        var image = controlled.Image();
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.All(image.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0 and <= 1, $"pixel {v}"));
        Assert.NotEmpty(controlled.Result.OutputFiles);
        Assert.Equal(plain.Image().ToArray(), zero.Image().ToArray());
        Assert.True(MaxDifference((image.ToArray(), []), (zero.Image().ToArray(), [])) > 0.01, "strength 1 must change the image");
    }

    [Fact]
    public async Task A_ControlNet_on_a_UNet_without_a_controlled_graph_fails_naming_the_model()
    {
        var yaml = Yaml("models/tiny-sd", Apply("one", "positive", "hint-a.png", 1f)) + """
              denoise:
                node: unet.denoiser
                in: { unet: model.unet }
              guider:
                node: guidance.cfg
                in: { denoiser: denoise.denoiser, positive: one.result, negative: positive.conditioning }
              schedule:
                node: diffusion.scheduler
                in: { config: model.scheduler_config }
                with: { name: euler, steps: 1 }
              noise:
                node: latent.noise
                in: { unet: model.unet }
                with: { seed: 1, width: 64, height: 64 }
              sample:
                node: diffusion.sample
                in: { guider: guider.guider, schedule: schedule.schedule, noise: noise.noise }

            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Equal("sample", run.Result.FailedNode);
        Assert.Contains("controlled.onnx", run.Result.Error);
        Assert.Contains("tiny-sd", run.Result.Error);
    }

    private static string Apply(string id, string conditioning, string hint, float strength, float start = 0f, float end = 1f, bool guess = false)
    {
        var input = conditioning == "positive" ? "positive.conditioning" : conditioning + ".result";
        string F(float v) => v.ToString(CultureInfo.InvariantCulture);
        return $"""
              {id}_image:
                node: image.load
                with: {"{"} path: "{Path.Combine(ControlFolder, hint)}" {"}"}
              {id}:
                node: controlnet.apply
                in: {"{"} conditioning: {input}, control_net: controlnet.control_net, image: {id}_image.image {"}"}
                with: {"{"} strength: {F(strength)}, start_percent: {F(start)}, end_percent: {F(end)}, guess_mode: {(guess ? "true" : "false")} {"}"}

            """;
    }

    private static string Yaml(string model, params string[] applies) => YamlWith(model, Path.Combine(ControlFolder, "control-ldm-fp16.safetensors"), applies);

    private static string YamlWith(string model, string controlnet, params string[] applies) => $"""
        flowdiffusion: 1
        name: controlnet
        nodes:
          model:
            node: model.load
            with: {"{"} path: "{model}", tokenizer_folder: models/tiny-sd/tokenizer {"}"}
          tokens:
            node: clip.tokenize
            in: {"{"} tokenizer: model.tokenizer {"}"}
            with: {"{"} text: a house {"}"}
          positive:
            node: clip.encode
            in: {"{"} clip: model.clip, tokens: tokens.tokens {"}"}
          controlnet:
            node: controlnet.load
            with: {"{"} path: "{controlnet}" {"}"}

        """ + string.Concat(applies);

    private static async Task<SdRun> RunAsync(params string[] applies) =>
        (await SdEngine.Shared.RunYamlAsync(Yaml(Checkpoint, applies), new Dictionary<string, object?>())).AssertCompleted();

    private static Extras ExtrasOf(SdRun run, string node) => Assert.IsType<Conditioning>(run.Result.Output(node, "result")).Extras;

    private static async Task<(float[] Values, long[] Shape)> PredictAsync(IUNetModel unet, Extras extras, float? timestep = null)
    {
        var context = new Conditioning(1, 77, 64, Ref("e2e.encoder_hidden_states").Values).WithExtras(extras);
        var input = new DenoiserInput(Ref("e2e.sample").Values, new LatentShape(1, 4, 8, 8), timestep ?? Ref("e2e.timestep").Values[0], context);
        return (await unet.PredictAsync(input, CancellationToken.None), [1, 4, 8, 8]);
    }

    private static (float[] Values, long[] Shape) Ref(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(ControlFolder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static (float[] Values, long[] Shape) ShuffleRef(string name) => Read(Path.Combine(ControlFolder, "shuffle-reference.safetensors"), name);

    private static (float[] Values, long[] Shape) Read(string path, string name)
    {
        using var file = SafetensorsFile.Open(path);
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static double MaxDifference((float[] Values, long[] Shape) a, (float[] Values, long[] Shape) b) =>
        a.Values.Zip(b.Values, (x, y) => (double)Math.Abs(x - y)).Max();

    private static void AssertClose((float[] Values, long[] Shape) expected, (float[] Values, long[] Shape) actual, double tolerance, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var worst = MaxDifference(expected, actual);
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} exceeds {tolerance}.");
        Assert.Contains(expected.Values, v => Math.Abs(v) > 0.1f);
    }
}
