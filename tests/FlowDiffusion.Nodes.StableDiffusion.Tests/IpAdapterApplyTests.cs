using System.Globalization;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// clip_vision.load/encode and ipadapter.load/apply on the tiny SD 1.x checkpoint, its tiny CLIP image tower and its tiny
/// IP-Adapter, through model.load and real ONNX Runtime sessions, against torch (tools/reference/make_ipadapter.py: the
/// UNet with decoupled cross-attention to the adapter's image tokens), and the shipped ipadapter workflow.
/// </summary>
public sealed class IpAdapterApplyTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "ldm-fp16.safetensors");
    private static readonly string Folder = Path.Combine(Data, "ipadapter");

    [Theory]
    [InlineData("a")]
    [InlineData("b")]
    public async Task Encoding_an_image_file_gives_torchs_image_embeds(string image)
    {
        var run = await RunAsync(Encode($"embeds_{image}", $"image-{image}.png"));
        var embeds = Assert.IsType<ClipVisionOutput>(run.Result.Output($"embeds_{image}", "embeds"));
        AssertClose(Ref($"{image}.image_embeds"), (embeds.ToArray(), [embeds.Batch, embeds.Width]), 1e-4, "image_embeds");
    }

    [Theory]
    [InlineData("a")]
    [InlineData("b")]
    public async Task Preprocessing_shrinks_or_enlarges_the_shortest_side_crops_and_normalises_as_torch_does(string image)
    {
        // An encoder whose embedding is its input: clip_vision.encode then returns the preprocessed pixels themselves.
        using var scratch = new TempFolder();
        var g = new GraphBuilder("identity");
        var pixels = g.Input("pixel_values", TensorElementType.Float, "batch", 3, 32, 32);
        g.Output(g.Reshape(pixels, 0, 3 * 32 * 32), "image_embeds", TensorElementType.Float, "batch", 3 * 32 * 32);
        var identity = Path.Combine(scratch.Path, "identity.onnx");
        File.WriteAllBytes(identity, g.Build("pixels as embeddings").ToBytes());

        var run = await RunAsync(Encode("pixels", $"image-{image}.png", identity));
        var embeds = Assert.IsType<ClipVisionOutput>(run.Result.Output("pixels", "embeds"));
        AssertClose(Ref($"{image}.pixel_values"), (embeds.ToArray(), [1, 3, 32, 32]), 1e-4, "pixel_values");
    }

    [Fact]
    public async Task The_UNet_with_an_image_prompt_matches_torch_and_weight_zero_is_the_plain_UNet()
    {
        var run = await RunAsync(Encode("embeds_a", "image-a.png"), Apply("adapted", "embeds_a", 0.7f), Apply("zero", "embeds_a", 0f));
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));

        var plain = await PredictAsync(unet, Extras.Empty);
        AssertClose(Ref("e2e.plain"), plain, 1e-4, "without an image prompt");
        AssertClose(Ref("e2e.adapted"), await PredictAsync(unet, ExtrasOf(run, "adapted")), 1e-4, "image a at 0.7");
        Assert.True(MaxDifference(Ref("e2e.adapted"), Ref("e2e.plain")) > 0.1, "the image must move the prediction");
        Assert.Equal(plain.Values, (await PredictAsync(unet, ExtrasOf(run, "zero"))).Values);
    }

    [Fact]
    public async Task In_a_guided_batch_the_negative_gets_the_empty_image_tokens_at_the_same_weight()
    {
        var run = await RunAsync(Encode("embeds_a", "image-a.png"), Apply("adapted", "embeds_a", 0.7f));
        var both = await PredictGuidedAsync(run);
        AssertClose(Ref("e2e.uncond"), (both[..256], [1, 4, 8, 8]), 1e-4, "the negative row");
        AssertClose(Ref("e2e.adapted"), (both[256..], [1, 4, 8, 8]), 1e-4, "the positive row");
    }

    [Fact]
    public async Task A_Plus_adapter_reads_the_penultimate_hidden_states_and_its_negative_gets_the_zero_images_tokens()
    {
        var run = (await SdEngine.Shared.RunYamlAsync(YamlWith(Checkpoint, "ip-adapter-plus.safetensors", Encode("embeds_a", "image-a.png"), Apply("adapted", "embeds_a", 0.7f)), new Dictionary<string, object?>())).AssertCompleted();
        var embeds = Assert.IsType<ClipVisionOutput>(run.Result.Output("embeds_a", "embeds"));
        var hidden = Assert.IsType<ClipVisionHiddenStates>(embeds.HiddenStates);
        AssertClose(Plus("a.penultimate_hidden_states"), (hidden.Penultimate.ToArray(), [1, 17, 64]), 1e-4, "penultimate_hidden_states");
        AssertClose(Plus("zero.penultimate_hidden_states"), (hidden.Unconditional.ToArray(), [1, 17, 64]), 1e-4, "the zero image's states");

        var both = await PredictGuidedAsync(run);
        AssertClose(Plus("e2e.uncond"), (both[..256], [1, 4, 8, 8]), 1e-4, "the negative row (zero image)");
        AssertClose(Plus("e2e.adapted"), (both[256..], [1, 4, 8, 8]), 1e-4, "the positive row (image a at 0.7)");
    }

    [Fact]
    public async Task A_Plus_adapter_with_an_encoder_that_gives_no_hidden_states_fails_saying_what_to_load()
    {
        using var scratch = new TempFolder();
        var g = new GraphBuilder("embeds-only");
        var pixels = g.Input("pixel_values", TensorElementType.Float, "batch", 3, 32, 32);
        g.Output(g.Slice(g.Reshape(pixels, 0, 3 * 32 * 32), [0], [64], [1]), "image_embeds", TensorElementType.Float, "batch", 64);
        var encoder = Path.Combine(scratch.Path, "embeds-only.onnx");
        File.WriteAllBytes(encoder, g.Build("image embeds only").ToBytes());
        var run = await SdEngine.Shared.RunYamlAsync(YamlWith(Checkpoint, "ip-adapter-plus.safetensors", Encode("embeds_a", "image-a.png", encoder), Apply("adapted", "embeds_a", 1f)), new Dictionary<string, object?>());
        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Equal("adapted", run.Result.FailedNode);
        Assert.Contains("penultimate hidden states", run.Result.Error);
        Assert.Contains(".safetensors", run.Result.Error);
    }

    [Fact]
    public async Task Outside_its_window_the_image_prompt_does_not_act()
    {
        var run = await RunAsync(Encode("embeds_a", "image-a.png"), Apply("late", "embeds_a", 0.7f, start: 0.5f));
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        // Timestep 999 is the start of the schedule; an image prompt starting half way is not active yet.
        Assert.Equal((await PredictAsync(unet, Extras.Empty)).Values, (await PredictAsync(unet, ExtrasOf(run, "late"))).Values);
        Assert.True(MaxDifference(await PredictAsync(unet, Extras.Empty, 17f), await PredictAsync(unet, ExtrasOf(run, "late"), 17f)) > 0.05);
    }

    [Fact]
    public async Task The_shipped_workflow_runs_on_the_tiny_models_and_weight_zero_draws_what_txt2img_draws()
    {
        var common = new Dictionary<string, object?>
        {
            ["model"] = Checkpoint, ["width"] = "64", ["height"] = "64", ["steps"] = "3", ["seed"] = "5", ["cfg"] = "5",
            ["scheduler"] = "euler", ["prompt"] = "a house", ["negative"] = "",
        };
        var adapter = new Dictionary<string, object?>(common)
        {
            ["clip_vision"] = Path.Combine(Folder, "clip-vision"), ["ipadapter"] = Path.Combine(Folder, "ip-adapter.safetensors"),
            ["image"] = Path.Combine(Folder, "image-a.png"), ["tokenizer_folder"] = "models/tiny-sd/tokenizer",
        };
        var adapted = (await SdEngine.Shared.RunFileAsync("ipadapter.yaml", adapter)).AssertCompleted();
        var zero = (await SdEngine.Shared.RunFileAsync("ipadapter.yaml", new Dictionary<string, object?>(adapter) { ["weight"] = "0" })).AssertCompleted();
        var plain = (await SdEngine.Shared.RunYamlAsync(
            File.ReadAllText(Path.Combine(RepositoryRoot.Path, "workflows", "txt2img.yaml")).Replace("      path: $model", "      path: $model\n      tokenizer_folder: models/tiny-sd/tokenizer", StringComparison.Ordinal),
            common)).AssertCompleted();

        var image = adapted.Image();
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.All(image.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0 and <= 1, $"pixel {v}"));
        Assert.NotEmpty(adapted.Result.OutputFiles);
        Assert.Equal(plain.Image().ToArray(), zero.Image().ToArray());
        Assert.True(MaxDifference((image.ToArray(), []), (zero.Image().ToArray(), [])) > 0.01, "weight 1 must change the image");
    }

    [Fact]
    public async Task An_image_prompt_on_a_UNet_without_an_IP_adapted_graph_fails_naming_the_model()
    {
        var yaml = Yaml("models/tiny-sd", Encode("embeds_a", "image-a.png"), Apply("adapted", "embeds_a", 1f)) + """
              denoise:
                node: unet.denoiser
                in: { unet: model.unet }
              guider:
                node: guidance.cfg
                in: { denoiser: denoise.denoiser, positive: adapted.result, negative: positive.conditioning }
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
        Assert.Contains("ipadapter.onnx", run.Result.Error);
        Assert.Contains("tiny-sd", run.Result.Error);
    }

    [Fact]
    public async Task Embeddings_of_another_width_are_refused_naming_both_widths()
    {
        using var scratch = new TempFolder();
        var g = new GraphBuilder("identity");
        var pixels = g.Input("pixel_values", TensorElementType.Float, "batch", 3, 32, 32);
        g.Output(g.Reshape(pixels, 0, 3 * 32 * 32), "image_embeds", TensorElementType.Float, "batch", 3 * 32 * 32);
        var identity = Path.Combine(scratch.Path, "identity.onnx");
        File.WriteAllBytes(identity, g.Build("pixels as embeddings").ToBytes());
        var run = await SdEngine.Shared.RunYamlAsync(Yaml(Checkpoint, Encode("wide", "image-a.png", identity), Apply("adapted", "wide", 1f)), new Dictionary<string, object?>());
        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Equal("adapted", run.Result.FailedNode);
        Assert.Contains("3072-wide", run.Result.Error);
        Assert.Contains("48-wide", run.Result.Error);
    }

    private static string Encode(string id, string image, string? encoder = null) => $"""
              {id}_image:
                node: image.load
                with: {"{"} path: "{Path.Combine(Folder, image)}" {"}"}
              {id}_encoder:
                node: clip_vision.load
                with: {"{"} path: "{encoder ?? Path.Combine(Folder, "clip-vision")}" {"}"}
              {id}:
                node: clip_vision.encode
                in: {"{"} clip_vision: {id}_encoder.clip_vision, image: {id}_image.image {"}"}

            """;

    private static string Apply(string id, string embeds, float weight, float start = 0f, float end = 1f)
    {
        string F(float v) => v.ToString(CultureInfo.InvariantCulture);
        return $"""
              {id}:
                node: ipadapter.apply
                in: {"{"} conditioning: positive.conditioning, adapter: ipadapter.adapter, embeds: {embeds}.embeds {"}"}
                with: {"{"} weight: {F(weight)}, start_percent: {F(start)}, end_percent: {F(end)} {"}"}

            """;
    }

    private static string Yaml(string model, params string[] parts) => YamlWith(model, "ip-adapter.safetensors", parts);

    private static string YamlWith(string model, string adapter, params string[] parts) => $"""
        flowdiffusion: 1
        name: ipadapter
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
          ipadapter:
            node: ipadapter.load
            with: {"{"} path: "{Path.Combine(Folder, adapter)}" {"}"}

        """ + string.Concat(parts);

    private static async Task<SdRun> RunAsync(params string[] parts) =>
        (await SdEngine.Shared.RunYamlAsync(Yaml(Checkpoint, parts), new Dictionary<string, object?>())).AssertCompleted();

    // The plain conditioning (negative) and node "adapted"'s (positive) as guidance.cfg batches them, the negative's rows first.
    private static async Task<float[]> PredictGuidedAsync(SdRun run)
    {
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        var positive = Assert.IsType<Conditioning>(run.Result.Output("adapted", "result"));
        var negative = Assert.IsType<Conditioning>(run.Result.Output("positive", "conditioning"));
        var batched = Conditioning.Batched([new ConditioningRows(negative, 1), new ConditioningRows(positive, 1)]);
        var text = Ref("e2e.encoder_hidden_states").Values;
        var context = new Conditioning(2, 77, 64, [.. text, .. text]).WithExtras(batched.Extras);
        var sample = Ref("e2e.sample").Values;
        return await unet.PredictAsync(new DenoiserInput(new[] { sample, sample }.SelectMany(v => v).ToArray(), new LatentShape(2, 4, 8, 8), Ref("e2e.timestep").Values[0], context), CancellationToken.None);
    }

    private static Extras ExtrasOf(SdRun run, string node) => Assert.IsType<Conditioning>(run.Result.Output(node, "result")).Extras;

    private static async Task<(float[] Values, long[] Shape)> PredictAsync(IUNetModel unet, Extras extras, float? timestep = null)
    {
        var context = new Conditioning(1, 77, 64, Ref("e2e.encoder_hidden_states").Values).WithExtras(extras);
        var input = new DenoiserInput(Ref("e2e.sample").Values, new LatentShape(1, 4, 8, 8), timestep ?? Ref("e2e.timestep").Values[0], context);
        return (await unet.PredictAsync(input, CancellationToken.None), [1, 4, 8, 8]);
    }

    private static (float[] Values, long[] Shape) Ref(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static (float[] Values, long[] Shape) Plus(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "plus-reference.safetensors"));
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
