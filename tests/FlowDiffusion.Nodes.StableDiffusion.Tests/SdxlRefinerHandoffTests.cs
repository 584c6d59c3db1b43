using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// The SDXL refiner as a model and the base → refiner hand-off, against torch: the tiny refiner checkpoint
/// (tools/reference/make_sdxl_refiner.py) through model.load — OpenCLIP alone, five time ids ending in the aesthetic score —
/// and workflows/sdxl-refiner.yaml on the tiny base and refiner against tools/reference/make_sdxl_refiner_handoff.py (the
/// base's Euler steps down to the 0.8 cutoff, the refiner's from there on the same latents, the same noise).
/// </summary>
public sealed class SdxlRefinerHandoffTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");
    private static readonly string Base = Path.Combine(Data, "sdxl-tiny", "sdxl-fp16.safetensors");
    private static readonly string Refiner = Path.Combine(Data, "sdxl-refiner-tiny", "refiner-fp16.safetensors");

    [Fact]
    public async Task Refiner_checkpoint_loads_with_openclip_alone_as_its_clip()
    {
        var (clip, _) = await LoadAsync();
        var ids = Ids("reference.safetensors", "text_encoder_2.input_ids");
        var prompts = Enumerable.Range(0, 2).Select(b => new Tokens($"row {b}", [new TokenChunk(ids[(b * 77)..((b + 1) * 77)], [.. Enumerable.Repeat(1f, 77)])])).ToArray();
        var conditioning = await clip.EncodeAsync(prompts, CancellationToken.None);

        // The refiner's context is OpenCLIP's penultimate hidden states alone: 32 wide here (1280 at full size).
        Assert.Equal((2, 77, 32), (conditioning.Batch, conditioning.Tokens, conditioning.Dim));
        AssertClose(Ref("reference.safetensors", "text_encoder_2.hidden_states"), conditioning.Embeddings.ToArray(), 1e-4, "OpenCLIP hidden_states[-2]");
        Assert.True(conditioning.Extras.TryGet(StandardExtras.PooledText, out var pooled));
        AssertClose(Ref("reference.safetensors", "text_encoder_2.text_embeds"), pooled.ToArray(), 1e-4, "text_embeds");
    }

    [Fact]
    public async Task Refiner_unet_takes_five_time_ids_with_the_aesthetic_score_from_the_extras()
    {
        var (_, unet) = await LoadAsync();
        var sample = Ref("reference.safetensors", "unet.sample");
        var context = Ref("reference.safetensors", "unet.encoder_hidden_states");
        var textEmbeds = Ref("reference.safetensors", "unet.text_embeds");
        var timeIds = Ref("reference.safetensors", "unet.time_ids");
        var timesteps = Ref("reference.safetensors", "unet.timestep");
        var expected = Ref("reference.safetensors", "unet.out_sample");
        Conditioning Row(int b, float[]? ids) => ids is null
            ? new Conditioning(1, 16, 32, context[(b * 16 * 32)..((b + 1) * 16 * 32)]).With(StandardExtras.PooledText, new ExtraTensor([1, 40], textEmbeds[(b * 40)..((b + 1) * 40)]))
            : Row(b, null).With(StandardExtras.TimeIds, new ExtraTensor([1, 5], ids));
        float[] Predict(int b, Conditioning c, float? t = null) => unet.PredictAsync(
            new DenoiserInput(sample[(b * 256)..((b + 1) * 256)], new LatentShape(1, 4, 8, 8), t ?? timesteps[b], c), CancellationToken.None).GetAwaiter().GetResult();

        // torch's rows: (1024, 1024, 0, 0, 6) and (768, 1344, 16, 32, 2.5).
        for (var b = 0; b < 2; b++)
        {
            AssertClose(expected[(b * 256)..((b + 1) * 256)], Predict(b, Row(b, timeIds[(b * 5)..((b + 1) * 5)])), 1e-4, $"refiner out_sample row {b}");
        }

        // Sizes of 0 stand for the image (8×8 latents: 64×64); without time ids the refiner assumes the image, uncropped, score 6.
        Assert.Equal(Predict(0, Row(0, [64, 64, 0, 0, 6])), Predict(0, Row(0, [0, 0, 0, 0, 6])));
        Assert.Equal(Predict(0, Row(0, [64, 64, 0, 0, 6])), Predict(0, Row(0, null)));
        var scoreChange = Predict(0, Row(0, [64, 64, 0, 0, 2.5f])).Zip(Predict(0, Row(0, [64, 64, 0, 0, 6]))).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(scoreChange > 1e-3, $"the aesthetic score changed the prediction by {scoreChange} only");

        // The base's six size numbers are refused by the refiner, with the node to use instead.
        var error = await Assert.ThrowsAsync<ArgumentException>(() => unet.PredictAsync(
            new DenoiserInput(sample[..256], new LatentShape(1, 4, 8, 8), 500f, Row(0, null).With(StandardExtras.TimeIds, new ExtraTensor([1, 6], [64, 64, 0, 0, 64, 64]))), CancellationToken.None));
        Assert.Contains("conditioning.sdxl_refiner", error.Message);
    }

    [Fact]
    public async Task Refiner_conditioning_node_writes_size_crop_and_aesthetic_score_as_time_ids()
    {
        var yaml = $"""
            flowdiffusion: 1
            name: refiner-time-ids
            nodes:
              model:
                node: model.load
                with: {"{"} path: "{Refiner}", tokenizer_folder: models/tiny-sd/tokenizer {"}"}
              tokens:
                node: clip.tokenize
                in: {"{"} tokenizer: model.tokenizer {"}"}
                with: {"{"} text: a red circle {"}"}
              text:
                node: clip.encode
                in: {"{"} clip: model.clip, tokens: tokens.tokens {"}"}
              scored:
                node: conditioning.sdxl_refiner
                in: {"{"} conditioning: text.conditioning {"}"}
                with: {"{"} aesthetic_score: 2.5, original_width: 1344, original_height: 768, crop_left: 32, crop_top: 16 {"}"}
              plain:
                node: conditioning.sdxl_refiner
                in: {"{"} conditioning: text.conditioning {"}"}
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        ExtraTensor TimeIds(string node)
        {
            Assert.True(Assert.IsType<Conditioning>(run.Result.Output(node, "conditioning_out")).Extras.TryGet(StandardExtras.TimeIds, out var ids));
            return ids;
        }

        // diffusers' order with requires_aesthetics_score: original (h, w), crop (top, left), aesthetic score.
        Assert.Equal([1, 5], TimeIds("scored").Shape);
        Assert.Equal([768f, 1344f, 16f, 32f, 2.5f], TimeIds("scored").ToArray());
        Assert.Equal([0f, 0f, 0f, 0f, 6f], TimeIds("plain").ToArray());
    }

    [Fact]
    public async Task Base_to_refiner_handoff_workflow_matches_torch()
    {
        var inputs = new Dictionary<string, object?>
        {
            ["model"] = Base,
            ["refiner"] = Refiner,
            ["tokenizer_folder"] = "models/tiny-sd/tokenizer",
            ["prompt"] = "a red circle",
            ["negative"] = "blue",
            ["seed"] = "7",
            ["steps"] = "7",
            ["cfg"] = "5",
            ["width"] = "64",
            ["height"] = "64",
        };
        var run = (await SdEngine.Shared.RunFileAsync("sdxl-refiner.yaml", inputs)).AssertCompleted();

        Assert.Equal(Ids("handoff-reference.safetensors", "handoff.positive_ids"), Assert.IsType<Tokens>(run.Result.Output("positive_tokens", "tokens")).Chunks.Single().Ids);
        Assert.Equal(Ids("handoff-reference.safetensors", "handoff.negative_ids"), Assert.IsType<Tokens>(run.Result.Output("refiner_negative_tokens", "tokens")).Chunks.Single().Ids);
        Assert.Equal(Ref("handoff-reference.safetensors", "handoff.noise"), Assert.IsType<Latent>(run.Result.Output("noise", "noise")).Values.ToArray());

        // Random tiny UNets drive the latents to |x| ≈ 15; compare relative to their size.
        var handed = Ref("handoff-reference.safetensors", "handoff.base_latent");
        AssertClose(handed, Assert.IsType<Latent>(run.Result.Output("base", "latent")).Values.ToArray(), 1e-4 * handed.Max(MathF.Abs), "base latents at the hand-off (5 of 7 steps)");
        var final = Ref("handoff-reference.safetensors", "handoff.latent");
        AssertClose(final, Assert.IsType<Latent>(run.Result.Output("refine", "latent")).Values.ToArray(), 1e-4 * final.Max(MathF.Abs), "refined latents (the last 2 steps)");
        var image = run.Image();
        Assert.Equal((1, 64, 64), (image.Batch, image.Height, image.Width));

        // The aesthetic score reaches the refiner: a different negative score changes the result.
        var other = (await SdEngine.Shared.RunFileAsync("sdxl-refiner.yaml", new Dictionary<string, object?>(inputs) { ["negative_aesthetic_score"] = "6" })).AssertCompleted();
        var change = final.Zip(Assert.IsType<Latent>(other.Result.Output("refine", "latent")).Values.ToArray()).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(change > 1e-3, $"the negative aesthetic score changed the latents by {change} only");
    }

    private static async Task<(ITextEncoder Clip, IUNetModel Unet)> LoadAsync()
    {
        var yaml = $"""
            flowdiffusion: 1
            name: refiner-load
            nodes:
              model:
                node: model.load
                with: {"{"} path: "{Refiner}", tokenizer_folder: models/tiny-sd/tokenizer {"}"}
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        return (Assert.IsAssignableFrom<ITextEncoder>(run.Result.Output("model", "clip")), Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet")));
    }

    private static int[] Ids(string file, string name)
    {
        using var tensors = SafetensorsFile.Open(Path.Combine(Data, "sdxl-refiner-tiny", file));
        var raw = tensors.GetBytes(tensors.Get(name));
        var ids = new int[raw.Length / 8];
        for (var i = 0; i < ids.Length; i++) ids[i] = (int)BitConverter.ToInt64(raw[(i * 8)..]);
        return ids;
    }

    private static float[] Ref(string file, string name)
    {
        using var tensors = SafetensorsFile.Open(Path.Combine(Data, "sdxl-refiner-tiny", file));
        return tensors.ReadFloat32(name);
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (x, y) => (double)Math.Abs(x - y)).Max();
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} exceeds {tolerance}.");
        Assert.Contains(expected, v => Math.Abs(v) > 0.1f);
    }
}
