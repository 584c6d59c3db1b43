using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// An SDXL single-file checkpoint through model.load (converted to an SDXL ONNX folder), against the torch reference
/// (tools/reference/make_sdxl_checkpoint.py): the clip output concatenates both towers' penultimate hidden states and
/// carries the projected pooled output as text_embeds; the UNet takes text_embeds and time_ids from the conditioning's
/// extras; workflows/sdxl-txt2img.yaml runs end to end and its size conditioning reaches the UNet.
/// </summary>
public sealed class SdxlCheckpointTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "sdxl-fp16.safetensors");

    [Fact]
    public async Task Clip_from_an_sdxl_checkpoint_concatenates_both_towers_and_attaches_the_pooled_projection()
    {
        var (clip, _) = await LoadAsync();
        var ids = Ids("text_encoder.input_ids");
        var prompts = Enumerable.Range(0, 2).Select(b => new Tokens($"row {b}", [new TokenChunk(ids[(b * 77)..((b + 1) * 77)], [.. Enumerable.Repeat(1f, 77)])])).ToArray();
        var conditioning = await clip.EncodeAsync(prompts, CancellationToken.None);

        Assert.Equal((2, 77, 64), (conditioning.Batch, conditioning.Tokens, conditioning.Dim));
        var first = Ref("text_encoder.hidden_states").Values;
        var second = Ref("text_encoder_2.hidden_states").Values;
        var expected = new float[2 * 77 * 64];
        for (var t = 0; t < 2 * 77; t++)
        {
            first.AsSpan(t * 32, 32).CopyTo(expected.AsSpan(t * 64));
            second.AsSpan(t * 32, 32).CopyTo(expected.AsSpan((t * 64) + 32));
        }

        AssertClose(expected, conditioning.Embeddings.ToArray(), 1e-4, "concatenated hidden states");
        Assert.True(conditioning.Extras.TryGet(StandardExtras.PooledText, out var pooled));
        Assert.Equal([2, 40], pooled.Shape);
        AssertClose(Ref("text_encoder_2.text_embeds").Values, pooled.ToArray(), 1e-4, "text_embeds");
        await Assert.ThrowsAsync<NotSupportedException>(() => clip.EncodeAsync(prompts, 2, CancellationToken.None));
    }

    [Fact]
    public async Task Unet_from_an_sdxl_checkpoint_reads_text_embeds_and_time_ids_from_the_extras()
    {
        var (_, unet) = await LoadAsync();
        var sample = Ref("unet.sample").Values;
        var context = Ref("unet.encoder_hidden_states").Values;
        var textEmbeds = Ref("unet.text_embeds").Values;
        var timeIds = Ref("unet.time_ids").Values;
        var timesteps = Ref("unet.timestep").Values;
        var expected = Ref("unet.out_sample").Values;
        for (var b = 0; b < 2; b++)
        {
            var conditioning = new Conditioning(1, 16, 64, context[(b * 16 * 64)..((b + 1) * 16 * 64)])
                .With(StandardExtras.PooledText, new ExtraTensor([1, 40], textEmbeds[(b * 40)..((b + 1) * 40)]))
                .With(StandardExtras.TimeIds, new ExtraTensor([1, 6], timeIds[(b * 6)..((b + 1) * 6)]));
            var input = new DenoiserInput(sample[(b * 256)..((b + 1) * 256)], new LatentShape(1, 4, 8, 8), timesteps[b], conditioning);
            AssertClose(expected[(b * 256)..((b + 1) * 256)], await unet.PredictAsync(input, CancellationToken.None), 1e-4, $"out_sample row {b}");
        }

        // Without time ids the UNet conditions on the image being made: 8×8 latents are a 64×64 image, uncropped.
        var plain = new Conditioning(1, 16, 64, context[..(16 * 64)]).With(StandardExtras.PooledText, new ExtraTensor([1, 40], textEmbeds[..40]));
        var sized = plain.With(StandardExtras.TimeIds, new ExtraTensor([1, 6], [64, 64, 0, 0, 64, 64]));
        var other = plain.With(StandardExtras.TimeIds, new ExtraTensor([1, 6], [1024, 1024, 0, 0, 1024, 1024]));
        float[] Predict(Conditioning c) => unet.PredictAsync(new DenoiserInput(sample[..256], new LatentShape(1, 4, 8, 8), 500f, c), CancellationToken.None).GetAwaiter().GetResult();
        Assert.Equal(Predict(sized), Predict(plain));
        Assert.True(Predict(other).Zip(Predict(plain)).Max(p => Math.Abs(p.First - p.Second)) > 0.01);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => unet.PredictAsync(
            new DenoiserInput(sample[..256], new LatentShape(1, 4, 8, 8), 500f, new Conditioning(1, 16, 64, context[..(16 * 64)])), CancellationToken.None));
        Assert.Contains("text_embeds", error.Message);
    }

    [Fact]
    public async Task Sdxl_txt2img_workflow_runs_the_checkpoint_and_its_size_conditioning_reaches_the_unet()
    {
        var inputs = SdxlInputs(1024);
        var run = (await SdEngine.Shared.RunFileAsync("sdxl-txt2img.yaml", inputs)).AssertCompleted();
        var image = run.Image();
        Assert.Equal((1, 64, 64), (image.Batch, image.Height, image.Width));
        Assert.All(image.Pixels.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0f and <= 1f));

        var smaller = (await SdEngine.Shared.RunFileAsync("sdxl-txt2img.yaml", SdxlInputs(512))).AssertCompleted().Image();
        var difference = image.Pixels.ToArray().Zip(smaller.Pixels.ToArray()).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(difference > 1e-3, $"the original size changed the image by {difference} only");
    }

    [Fact]
    public async Task An_edited_prompt_runs_through_sdxl_size_conditioning_and_uses_each_text_in_turn()
    {
        // conditioning.sdxl_size must reach every text of the edited prompt (each is batched with the negative, which has
        // time ids); the edited run differs from both texts' runs.
        async Task<float[]> RunAsync(string prompt) =>
            (await SdEngine.Shared.RunFileAsync("sdxl-txt2img.yaml", SdxlInputs(1024).With("prompt", prompt))).AssertCompleted().Image().Pixels.ToArray();
        var edited = await RunAsync("a [red:blue:0.5] circle");
        var red = await RunAsync("a red circle");
        var blue = await RunAsync("a blue circle");
        Assert.True(edited.Zip(red).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "the edited prompt gave the first text's image");
        Assert.True(edited.Zip(blue).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "the edited prompt gave the second text's image");
    }

    [Theory]
    [InlineData("sdxl-img2img.yaml")]
    [InlineData("sdxl-inpaint.yaml")]
    public async Task Sdxl_img2img_and_inpaint_workflows_run_the_checkpoint(string workflow)
    {
        var inputs = SdxlInputs(1024).With("image", "workflows/assets/landscape.png");
        if (workflow == "sdxl-inpaint.yaml")
        {
            inputs["mask"] = "workflows/assets/mask.png";
        }

        var run = (await SdEngine.Shared.RunFileAsync(workflow, inputs)).AssertCompleted();
        var image = run.Image();
        Assert.Equal((1, 64, 64), (image.Batch, image.Height, image.Width));
        Assert.All(image.Pixels.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0f and <= 1f));
    }

    private static Dictionary<string, object?> SdxlInputs(int originalSize) => new()
    {
        ["model"] = Checkpoint,
        ["tokenizer_folder"] = "models/tiny-sd/tokenizer",
        ["prompt"] = "a red circle",
        ["negative"] = "blue",
        ["steps"] = "3",
        ["cfg"] = "5",
        ["width"] = "64",
        ["height"] = "64",
        ["original_width"] = originalSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["original_height"] = originalSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static async Task<(ITextEncoder Clip, IUNetModel Unet)> LoadAsync()
    {
        var yaml = $"""
            flowdiffusion: 1
            name: sdxl-load
            nodes:
              model:
                node: model.load
                with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"}
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        return (Assert.IsAssignableFrom<ITextEncoder>(run.Result.Output("model", "clip")), Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet")));
    }

    private static int[] Ids(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "reference.safetensors"));
        var raw = file.GetBytes(file.Get(name));
        var ids = new int[raw.Length / 8];
        for (var i = 0; i < ids.Length; i++) ids[i] = (int)BitConverter.ToInt64(raw[(i * 8)..]);
        return ids;
    }

    private static (float[] Values, long[] Shape) Ref(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (x, y) => (double)Math.Abs(x - y)).Max();
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} exceeds {tolerance}.");
        Assert.Contains(expected, v => Math.Abs(v) > 0.1f);
    }
}
