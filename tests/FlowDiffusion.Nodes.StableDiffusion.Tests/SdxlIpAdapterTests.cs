using System.Globalization;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// ipadapter.load/apply on the tiny SDXL checkpoint with its tiny SDXL IP-Adapters (base and Plus) and the tiny CLIP tower,
/// through model.load and real ONNX Runtime sessions, against torch (tools/reference/make_sdxl_ipadapter.py), and the
/// shipped sdxl-ipadapter workflow.
/// </summary>
public sealed class SdxlIpAdapterTests
{
    private static readonly string TestData = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");
    private static readonly string Checkpoint = Path.Combine(TestData, "sdxl-tiny", "sdxl-fp16.safetensors");
    private static readonly string Folder = Path.Combine(TestData, "sdxl-tiny", "ipadapter");
    private static readonly string Vision = Path.Combine(TestData, "sd1-tiny", "ipadapter");

    [Theory]
    [InlineData("ip-adapter_sdxl.safetensors", "base", 0.7f)]
    [InlineData("ip-adapter-plus_sdxl.safetensors", "plus", 0.6f)]
    public async Task The_Sdxl_UNet_with_an_applied_image_prompt_matches_torch(string adapter, string kind, float weight)
    {
        var run = await RunAsync(adapter, weight);
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        AssertClose(Ref("unet.plain"), await PredictAsync(unet, Extras.Empty), 1e-4, "without an image prompt");
        var adapted = await PredictAsync(unet, Assert.IsType<Conditioning>(run.Result.Output("adapted", "result")).Extras);
        AssertClose(Ref($"{kind}.adapted"), adapted, 1e-4, $"the {kind} adapter at {weight}");
        Assert.True(adapted.Zip(Ref("unet.plain").Values).Max(p => Math.Abs(p.First - p.Second)) > 0.1, "the image must move the prediction");
    }

    [Fact]
    public async Task An_SD1_adapter_on_an_Sdxl_model_fails_naming_the_mismatch()
    {
        var run = await RunAsync(Path.Combine(Vision, "ip-adapter.safetensors"), 1f);
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        var error = await Assert.ThrowsAsync<ArgumentException>(() => PredictAsync(unet, Assert.IsType<Conditioning>(run.Result.Output("adapted", "result")).Extras));
        Assert.Contains("4 layers", error.Message);
        Assert.Contains("8 cross-attention layers", error.Message);
    }

    [Theory]
    [InlineData("ip-adapter_sdxl.safetensors")]
    [InlineData("ip-adapter-plus_sdxl.safetensors")]
    public async Task The_shipped_workflow_runs_on_the_tiny_models_and_weight_zero_draws_what_sdxl_txt2img_draws(string adapter)
    {
        var common = new Dictionary<string, object?>
        {
            ["model"] = Checkpoint, ["tokenizer_folder"] = "models/tiny-sd/tokenizer", ["width"] = "64", ["height"] = "64", ["steps"] = "3",
            ["seed"] = "5", ["cfg"] = "5", ["scheduler"] = "euler", ["prompt"] = "a house", ["negative"] = "",
        };
        var prompted = new Dictionary<string, object?>(common)
        {
            ["clip_vision"] = Path.Combine(Vision, "clip-vision"), ["ipadapter"] = Path.Combine(Folder, adapter),
            ["image"] = Path.Combine(Vision, "image-a.png"), ["weight"] = "1",
        };
        var adapted = (await SdEngine.Shared.RunFileAsync("sdxl-ipadapter.yaml", prompted)).AssertCompleted();
        var zero = (await SdEngine.Shared.RunFileAsync("sdxl-ipadapter.yaml", new Dictionary<string, object?>(prompted) { ["weight"] = "0" })).AssertCompleted();
        var plain = (await SdEngine.Shared.RunFileAsync("sdxl-txt2img.yaml", common)).AssertCompleted();

        var image = adapted.Image();
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.All(image.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0 and <= 1, $"pixel {v}"));
        Assert.NotEmpty(adapted.Result.OutputFiles);
        Assert.Equal(plain.Image().ToArray(), zero.Image().ToArray());
        Assert.True(image.ToArray().Zip(zero.Image().ToArray()).Max(p => Math.Abs(p.First - p.Second)) > 0.01, "weight 1 must change the image");
    }

    private static async Task<SdRun> RunAsync(string adapter, float weight)
    {
        var yaml = $"""
            flowdiffusion: 1
            name: sdxl-ipadapter-test
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
              image:
                node: image.load
                with: {"{"} path: "{Path.Combine(Vision, "image-a.png")}" {"}"}
              encoder:
                node: clip_vision.load
                with: {"{"} path: "{Path.Combine(Vision, "clip-vision")}" {"}"}
              embeds:
                node: clip_vision.encode
                in: {"{"} clip_vision: encoder.clip_vision, image: image.image {"}"}
              ipadapter:
                node: ipadapter.load
                with: {"{"} path: "{Path.Combine(Folder, adapter)}" {"}"}
              adapted:
                node: ipadapter.apply
                in: {"{"} conditioning: positive.conditioning, adapter: ipadapter.adapter, embeds: embeds.embeds {"}"}
                with: {"{"} weight: {weight.ToString(CultureInfo.InvariantCulture)} {"}"}
            """;
        return (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
    }

    // The reference's context, pooled text and size numbers replace the prompt's; the image prompt stays in the extras.
    private static async Task<float[]> PredictAsync(IUNetModel unet, Extras extras)
    {
        var context = new Conditioning(1, 16, 64, Ref("unet.encoder_hidden_states").Values).WithExtras(extras)
            .With(StandardExtras.PooledText, new ExtraTensor([1, 40], Ref("unet.text_embeds").Values))
            .With(StandardExtras.TimeIds, new ExtraTensor([1, 6], Ref("unet.time_ids").Values));
        var input = new DenoiserInput(Ref("unet.sample").Values, new LatentShape(1, 4, 8, 8), Ref("unet.timestep").Values[0], context);
        return await unet.PredictAsync(input, CancellationToken.None);
    }

    private static (float[] Values, long[] Shape) Ref(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static void AssertClose((float[] Values, long[] Shape) expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Values.Length, actual.Length);
        var worst = expected.Values.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} exceeds {tolerance}.");
        Assert.Contains(expected.Values, v => Math.Abs(v) > 0.1f);
    }
}
