using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// unet.deep_shrink on the tiny SD 1.x checkpoint through model.load (whose every UNet graph takes Deep Shrink's inputs):
/// its predictions inside the schedule window against ComfyUI's PatchModelAddDownscale in torch
/// (tools/reference/make_deep_shrink.py, tolerance 1e-4 on outputs up to ~3), the plain UNet bit for bit outside it and
/// for a whole image whose window holds no step, the tiny SDXL checkpoint, and the refusals: a ControlNet in the window,
/// a method ComfyUI lacks, a folder whose UNet takes no Deep Shrink.
/// </summary>
public sealed class UNetDeepShrinkTests
{
    private const double Tolerance = 1e-4;
    private static readonly string TestData = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");
    private static readonly string Checkpoint = Path.Combine(TestData, "sd1-tiny", "ldm-fp16.safetensors");

    [Fact]
    public async Task Inside_its_window_it_matches_torch_and_outside_it_is_the_plain_UNet_bit_for_bit()
    {
        // Reference rows: timestep 999 (the schedule's start, inside 0 … 0.35) and 17 (near its end, outside).
        var run = await RunAsync("""
              early: { node: unet.deep_shrink, in: { unet: m1.unet }, with: { block_number: 1 } }
              late: { node: unet.deep_shrink, in: { unet: m1.unet }, with: { block_number: 1, start_percent: 0.5, end_percent: 1 } }
            """);

        var plain = Unet(run, "m1", "unet");
        var early = Unet(run, "early", "unet_out");
        var late = Unet(run, "late", "unet_out");
        AssertClose(Row(Ref("defaults_block1.out_sample"), 0), await PredictAsync(early, 0), "Deep Shrink at timestep 999");
        AssertClose(Row(Ref("defaults_block1.out_sample"), 1), await PredictAsync(late, 1), "Deep Shrink at timestep 17 in a late window");
        Assert.Equal(await PredictAsync(plain, 1), await PredictAsync(early, 1));
        Assert.Equal(await PredictAsync(plain, 0), await PredictAsync(late, 0));
        AssertClose(Row(Ref("plain.out_sample"), 0), await PredictAsync(plain, 0), "plain out_sample");
        Assert.True(MaxDifference(await PredictAsync(plain, 0), await PredictAsync(early, 0)) > 0.5, "Deep Shrink should change the prediction");
    }

    [Theory]
    [InlineData("block2_bilinear_nearest", "block_number: 2, downscale_factor: 1.5, downscale_method: bilinear, upscale_method: nearest-exact")]
    [InlineData("block1_before_skip", "block_number: 1, downscale_after_skip: false, downscale_method: nearest-exact, upscale_method: bilinear")]
    [InlineData("block3_odd", "block_number: 3, downscale_factor: 1.7, upscale_method: bilinear")]
    [InlineData("block2_area_odd", "block_number: 2, downscale_factor: 1.5, downscale_after_skip: false, downscale_method: area, upscale_method: bilinear")]
    [InlineData("block1_bislerp", "block_number: 1, downscale_method: bislerp, upscale_method: bislerp")]
    public async Task Each_setting_reaches_the_graph_as_torch_applies_it(string reference, string settings)
    {
        var run = await RunAsync($$"""
              s: { node: unet.deep_shrink, in: { unet: m1.unet }, with: { {{settings}} } }
            """);

        AssertClose(Row(Ref(reference + ".out_sample"), 0), await PredictAsync(Unet(run, "s", "unet_out"), 0), reference);
    }

    [Fact]
    public async Task A_window_that_holds_no_step_draws_the_plain_image_bit_for_bit_and_the_default_window_changes_it()
    {
        var run = await RunAsync($"""
              never: {"{"} node: unet.deep_shrink, in: {"{"} unet: m1.unet {"}"}, with: {"{"} block_number: 1, start_percent: 1, end_percent: 1 {"}"} {"}"}
              early: {"{"} node: unet.deep_shrink, in: {"{"} unet: m1.unet {"}"}, with: {"{"} block_number: 1 {"}"} {"}"}
            {ModelMergeTests.Pipeline("plain", "m1.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("never", "never.unet_out", "m1.clip")}
            {ModelMergeTests.Pipeline("early", "early.unet_out", "m1.clip")}
            """);

        // Two Euler steps with CFG (cond and uncond in one batch): the first, at timestep 999, lies in the default window.
        var plain = run.Image("plain_decode").ToArray();
        Assert.Equal(plain, run.Image("never_decode").ToArray());
        Assert.True(MaxDifference(plain, run.Image("early_decode").ToArray()) > 1e-3, "Deep Shrink should change the image");
    }

    [Fact]
    public async Task An_SDXL_checkpoint_shrinks_as_torch_does()
    {
        var sdxl = Path.Combine(TestData, "sdxl-tiny");
        var run = (await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: deep-shrink-sdxl
            nodes:
              x: {"{"} node: model.load, with: {"{"} path: "{Path.Combine(sdxl, "sdxl-fp16.safetensors")}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              s: {"{"} node: unet.deep_shrink, in: {"{"} unet: x.unet {"}"}, with: {"{"} block_number: 2, start_percent: 0, end_percent: 1 {"}"} {"}"}
            """, new Dictionary<string, object?>())).AssertCompleted();

        using var file = SafetensorsFile.Open(Path.Combine(sdxl, "reference.safetensors"));
        // Row 0 of the checkpoint's reference call (batch 2, rows with timesteps of their own).
        var shape = file.Get("unet.sample").Shape;
        var hidden = file.Get("unet.encoder_hidden_states").Shape;
        float[] Row0(string name) => Row(file.ReadFloat32(name), 0, (int)file.Get(name).Shape[0]);
        var conditioning = new Conditioning(1, (int)hidden[1], (int)hidden[2], Row0("unet.encoder_hidden_states"))
            .With(StandardExtras.PooledText, new ExtraTensor([1, 40], Row0("unet.text_embeds")))
            .With(StandardExtras.TimeIds, new ExtraTensor([1, 6], Row0("unet.time_ids")));
        var input = new DenoiserInput(Row0("unet.sample"), new LatentShape(1, (int)shape[1], (int)shape[2], (int)shape[3]), file.ReadFloat32("unet.timestep")[0], conditioning);
        var shrunk = await Unet(run, "s", "unet_out").PredictAsync(input, CancellationToken.None);

        AssertClose(Row(Ref("sdxl.out_sample"), 0, (int)shape[0]), shrunk, "SDXL Deep Shrink");
        Assert.True(MaxDifference(Row0("unet.out_sample"), shrunk) > 0.1, "Deep Shrink should change the SDXL prediction");
    }

    [Fact]
    public async Task A_ControlNet_acting_inside_the_window_is_refused_and_one_outside_it_acts()
    {
        var controlFolder = Path.Combine(TestData, "sd1-tiny", "controlnet");
        var run = await RunAsync($"""
              s: {"{"} node: unet.deep_shrink, in: {"{"} unet: m1.unet {"}"}, with: {"{"} block_number: 1 {"}"} {"}"}
              cn: {"{"} node: controlnet.load, with: {"{"} path: "{Path.Combine(controlFolder, "control-ldm-fp16.safetensors")}" {"}"} {"}"}
              hint: {"{"} node: image.load, with: {"{"} path: "{Path.Combine(controlFolder, "hint-a.png")}" {"}"} {"}"}
              tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: m1.tokenizer {"}"}, with: {"{"} text: a house {"}"} {"}"}
              positive: {"{"} node: clip.encode, in: {"{"} clip: m1.clip, tokens: tokens.tokens {"}"} {"}"}
              controlled: {"{"} node: controlnet.apply, in: {"{"} conditioning: positive.conditioning, control_net: cn.control_net, image: hint.image {"}"}, with: {"{"} strength: 0.6 {"}"} {"}"}
            """);

        var extras = Assert.IsType<Conditioning>(run.Result.Output("controlled", "result")).Extras;
        var shrunk = Unet(run, "s", "unet_out");
        var error = await Assert.ThrowsAsync<ArgumentException>(() => PredictAsync(shrunk, 0, extras));
        Assert.Contains("Deep Shrink and ControlNets", error.Message);
        // At timestep 17 the window is over: the ControlNet acts as it does on the plain UNet.
        Assert.Equal(await PredictAsync(Unet(run, "m1", "unet"), 1, extras), await PredictAsync(shrunk, 1, extras));
    }

    [Theory]
    [InlineData("downscale_method: lanczos", "downscale_method")]
    [InlineData("upscale_method: bislerp_alt", "upscale_method")]
    [InlineData("block_number: 0", "block_number")]
    [InlineData("downscale_factor: 9.5", "downscale_factor")]
    public void Settings_the_graph_cannot_take_are_refused_before_the_run_naming_the_input(string setting, string input)
    {
        var validation = SdEngine.Shared.Parse($"""
            flowdiffusion: 1
            name: deep-shrink-range
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              s: {"{"} node: unet.deep_shrink, in: {"{"} unet: m1.unet {"}"}, with: {"{"} {setting} {"}"} {"}"}
            """, new Dictionary<string, object?>());

        Assert.False(validation.IsValid);
        Assert.Contains(validation.Diagnostics, d => d.ToString()!.Contains($"node 's': parameter '{input}'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_model_folder_whose_UNet_takes_no_Deep_Shrink_fails_the_node_saying_what_to_do()
    {
        // models/tiny-sd is a diffusers-ONNX folder made elsewhere (the model generator), not by model.load's builder.
        var run = await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: deep-shrink-old
            nodes:
              m1: { node: model.load, with: { path: models/tiny-sd } }
              s: { node: unet.deep_shrink, in: { unet: m1.unet } }
            """, new Dictionary<string, object?>());

        run.AssertFailed("s", "takes no Deep Shrink inputs", "converted again on its next load");
    }

    private static async Task<SdRun> RunAsync(string nodes)
    {
        var yaml = $"""
            flowdiffusion: 1
            name: deep-shrink
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {nodes}
            """;
        return (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
    }

    private static IUNetModel Unet(SdRun run, string node, string port) => Assert.IsAssignableFrom<IUNetModel>(run.Result.Output(node, port));

    // Row b of the reference inputs (sample [2, 4, 22, 18], text states [2, 7, 64]).
    private static async Task<float[]> PredictAsync(IUNetModel unet, int b, Extras? extras = null)
    {
        var sample = Row(Ref("sample"), b);
        var context = new Conditioning(1, 7, 64, Row(Ref("encoder_hidden_states"), b)).WithExtras(extras ?? Extras.Empty);
        var input = new DenoiserInput(sample, new LatentShape(1, 4, 22, 18), Ref("timestep")[b], context);
        return await unet.PredictAsync(input, CancellationToken.None);
    }

    private static float[] Row(float[] batch, int b, int rows = 2) => batch.AsSpan(b * (batch.Length / rows), batch.Length / rows).ToArray();

    private static float[] Ref(string name)
    {
        using var reference = SafetensorsFile.Open(Path.Combine(TestData, "deep-shrink", "reference.safetensors"));
        return reference.ReadFloat32(name);
    }

    private static double MaxDifference(IReadOnlyList<float> a, IReadOnlyList<float> b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = MaxDifference(expected, actual);
        Assert.True(worst <= Tolerance, $"{what}: max |difference| {worst:G4} exceeds {Tolerance}.");
    }
}
