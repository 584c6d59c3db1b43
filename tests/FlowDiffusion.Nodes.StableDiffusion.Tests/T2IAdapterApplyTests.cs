using System.Globalization;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// t2i_adapter.load (and controlnet.load, which takes T2I-Adapters as ComfyUI's ControlNetLoader does) with controlnet.apply on
/// the tiny SD 1.x checkpoint and its tiny adapter, through model.load and real ONNX Runtime sessions, against torch
/// (tools/reference/make_t2i_adapter.py: the UNet with the adapter's features × strength added inside its encoder), and the
/// shipped t2i-adapter workflow.
/// </summary>
public sealed class T2IAdapterApplyTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "ldm-fp16.safetensors");
    private static readonly string AdapterFolder = Path.Combine(Data, "t2i-adapter");

    [Theory]
    [InlineData("t2i_adapter.load", "adapter-fp16.safetensors")]
    [InlineData("controlnet.load", "diffusers")]
    public async Task The_UNet_with_an_applied_adapter_matches_torch(string loader, string file)
    {
        var run = await RunAsync(loader, file, Apply("one", "positive", 0.6f));
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));

        AssertClose(Ref("e2e.plain"), await PredictAsync(unet, Extras.Empty), 1e-4, "without the adapter");
        AssertClose(Ref("e2e.adapted"), await PredictAsync(unet, ExtrasOf(run, "one")), 1e-4, "the adapter at 0.6");
        Assert.True(MaxDifference(Ref("e2e.adapted"), Ref("e2e.plain")) > 0.1, "the adapter must move the prediction");
    }

    [Fact]
    public async Task Twice_on_one_conditioning_adds_up_and_outside_the_window_or_at_strength_zero_is_plain()
    {
        var run = await RunAsync("t2i_adapter.load", "adapter-fp16.safetensors",
            Apply("twice_a", "positive", 0.25f), Apply("twice_b", "twice_a", 0.35f), Apply("zero", "positive", 0f), Apply("late", "positive", 0.6f, start: 0.5f));
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        AssertClose(Ref("e2e.adapted"), await PredictAsync(unet, ExtrasOf(run, "twice_b")), 1e-4, "0.25 + 0.35 on one conditioning");

        var plain = await PredictAsync(unet, Extras.Empty);
        Assert.Equal(plain.Values, (await PredictAsync(unet, ExtrasOf(run, "zero"))).Values);
        Assert.Equal(plain.Values, (await PredictAsync(unet, ExtrasOf(run, "late"))).Values);
        Assert.True(MaxDifference(await PredictAsync(unet, Extras.Empty, 17f), await PredictAsync(unet, ExtrasOf(run, "late"), 17f)) > 0.05);
    }

    [Fact]
    public async Task A_batched_call_gives_only_the_row_that_carries_the_adapter_its_features()
    {
        var run = await RunAsync("t2i_adapter.load", "adapter-fp16.safetensors", Apply("pos", "positive", 0.6f));
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        var positive = Assert.IsType<Conditioning>(run.Result.Output("pos", "result"));
        var plainRow = Assert.IsType<Conditioning>(run.Result.Output("positive", "conditioning"));
        var batched = Conditioning.Batched([new ConditioningRows(plainRow, 1), new ConditioningRows(positive, 1)]);
        var hidden = Ref("e2e.encoder_hidden_states").Values;
        var context = new Conditioning(2, 77, 64, [.. hidden, .. hidden]).WithExtras(batched.Extras);
        var sample = Ref("e2e.sample").Values;
        var both = await unet.PredictAsync(new DenoiserInput(sample.Concat(sample).ToArray(), new LatentShape(2, 4, 8, 8), Ref("e2e.timestep").Values[0], context), CancellationToken.None);
        AssertClose(Ref("e2e.plain"), (both[..256], [1, 4, 8, 8]), 1e-4, "row 0 without the adapter");
        AssertClose(Ref("e2e.adapted"), (both[256..], [1, 4, 8, 8]), 1e-4, "row 1 with it");
    }

    [Fact]
    public async Task Guess_mode_is_refused_for_an_adapter_by_name()
    {
        var run = await SdEngine.Shared.RunYamlAsync(Yaml("t2i_adapter.load", "adapter-fp16.safetensors", Apply("guess", "positive", 1f, guess: true)), new Dictionary<string, object?>());
        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Equal("guess", run.Result.FailedNode);
        Assert.Contains("guess_mode", run.Result.Error);
    }

    [Fact]
    public async Task The_shipped_workflow_runs_on_the_tiny_checkpoint_and_strength_zero_draws_what_txt2img_draws()
    {
        var common = new Dictionary<string, object?>
        {
            ["model"] = Checkpoint, ["width"] = "64", ["height"] = "64", ["steps"] = "3", ["seed"] = "5", ["cfg"] = "5",
            ["scheduler"] = "euler", ["prompt"] = "a house", ["negative"] = "",
        };
        var adapted = new Dictionary<string, object?>(common)
        {
            ["adapter"] = Path.Combine(AdapterFolder, "adapter-fp16.safetensors"), ["tokenizer_folder"] = "models/tiny-sd/tokenizer",
        };
        var run = (await SdEngine.Shared.RunFileAsync("t2i-adapter.yaml", adapted)).AssertCompleted();
        var zero = (await SdEngine.Shared.RunFileAsync("t2i-adapter.yaml", new Dictionary<string, object?>(adapted) { ["strength"] = "0" })).AssertCompleted();
        var plain = (await SdEngine.Shared.RunYamlAsync(
            File.ReadAllText(Path.Combine(RepositoryRoot.Path, "workflows", "txt2img.yaml")).Replace("      path: $model", "      path: $model\n      tokenizer_folder: models/tiny-sd/tokenizer", StringComparison.Ordinal),
            common)).AssertCompleted();

        var image = run.Image();
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.All(image.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0 and <= 1, $"pixel {v}"));
        Assert.NotEmpty(run.Result.OutputFiles);
        Assert.Equal(plain.Image().ToArray(), zero.Image().ToArray());
        Assert.True(MaxDifference((image.ToArray(), []), (zero.Image().ToArray(), [])) > 0.01, "strength 1 must change the image");
    }

    private static string Apply(string id, string conditioning, float strength, float start = 0f, bool guess = false)
    {
        var input = conditioning == "positive" ? "positive.conditioning" : conditioning + ".result";
        string F(float v) => v.ToString(CultureInfo.InvariantCulture);
        return $"""
              {id}_image:
                node: image.load
                with: {"{"} path: "{Path.Combine(AdapterFolder, "hint-a.png")}" {"}"}
              {id}:
                node: controlnet.apply
                in: {"{"} conditioning: {input}, control_net: adapter.control_net, image: {id}_image.image {"}"}
                with: {"{"} strength: {F(strength)}, start_percent: {F(start)}, end_percent: 1, guess_mode: {(guess ? "true" : "false")} {"}"}

            """;
    }

    private static string Yaml(string loader, string file, params string[] applies) => $"""
        flowdiffusion: 1
        name: t2i-adapter
        nodes:
          model:
            node: model.load
            with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"}
          tokens:
            node: clip.tokenize
            in: {"{"} tokenizer: model.tokenizer {"}"}
            with: {"{"} text: a house {"}"}
          positive:
            node: clip.encode
            in: {"{"} clip: model.clip, tokens: tokens.tokens {"}"}
          adapter:
            node: {loader}
            with: {"{"} path: "{Path.Combine(AdapterFolder, file)}" {"}"}

        """ + string.Concat(applies);

    private static async Task<SdRun> RunAsync(string loader, string file, params string[] applies) =>
        (await SdEngine.Shared.RunYamlAsync(Yaml(loader, file, applies), new Dictionary<string, object?>())).AssertCompleted();

    private static Extras ExtrasOf(SdRun run, string node) => Assert.IsType<Conditioning>(run.Result.Output(node, "result")).Extras;

    private static async Task<(float[] Values, long[] Shape)> PredictAsync(IUNetModel unet, Extras extras, float? timestep = null)
    {
        var context = new Conditioning(1, 77, 64, Ref("e2e.encoder_hidden_states").Values).WithExtras(extras);
        var input = new DenoiserInput(Ref("e2e.sample").Values, new LatentShape(1, 4, 8, 8), timestep ?? Ref("e2e.timestep").Values[0], context);
        return (await unet.PredictAsync(input, CancellationToken.None), [1, 4, 8, 8]);
    }

    private static (float[] Values, long[] Shape) Ref(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(AdapterFolder, "reference.safetensors"));
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
