using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// unet.freeu on the tiny SD 1.x checkpoint through model.load (whose every UNet graph takes FreeU's factors): its
/// predictions against ComfyUI's FreeU and FreeU_V2 in torch at their default factors, alone and after a LoRA
/// (tools/reference/make_freeu_sd1.py, tolerance 1e-4 on outputs up to ~2), whole images at factors 1 against the plain
/// model's, ControlNet with FreeU, and the errors for factors out of range and a model folder whose UNet takes none.
/// </summary>
public sealed class UNetFreeUTests
{
    private const double Tolerance = 1e-4;
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "ldm-fp16.safetensors");
    private static readonly string LoraA = Path.Combine(Data, "lora", "kohya-a.safetensors");

    [Fact]
    public async Task FreeU_and_FreeU_V2_at_ComfyUI_defaults_match_torch_and_differ()
    {
        var run = await RunAsync("""
              v1: { node: unet.freeu, in: { unet: m1.unet } }
              v2: { node: unet.freeu, in: { unet: m1.unet }, with: { b1: 1.3, b2: 1.4, s1: 0.9, s2: 0.2, version: 2 } }
            """);

        var v1 = await PredictAsync(Unet(run, "v1", "unet_out"));
        var v2 = await PredictAsync(Unet(run, "v2", "unet_out"));
        var plain = await PredictAsync(Unet(run, "m1", "unet"));
        AssertClose(Ref("base.out_sample"), plain, "plain out_sample");
        AssertClose(Ref("v1.out_sample"), v1, "FreeU out_sample");
        AssertClose(Ref("v2.out_sample"), v2, "FreeU_V2 out_sample");
        // FreeU moves the prediction by 0.17 and V2 weighs b2 differently: neither can pass as the other or as the plain UNet.
        Assert.True(MaxDifference(v1, plain) > 0.1, "FreeU should change the prediction");
        Assert.True(MaxDifference(v1, v2) > 0.01, "FreeU_V2 should differ from FreeU");
    }

    [Fact]
    public async Task FreeU_at_ones_draws_the_plain_image_bit_for_bit_and_its_defaults_change_it()
    {
        var run = await RunAsync($"""
              ones: {"{"} node: unet.freeu, in: {"{"} unet: m1.unet {"}"}, with: {"{"} b1: 1, b2: 1, s1: 1, s2: 1 {"}"} {"}"}
              v1: {"{"} node: unet.freeu, in: {"{"} unet: m1.unet {"}"} {"}"}
              v2: {"{"} node: unet.freeu, in: {"{"} unet: m1.unet {"}"}, with: {"{"} b1: 1.3, b2: 1.4, version: 2 {"}"} {"}"}
            {ModelMergeTests.Pipeline("plain", "m1.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("ones", "ones.unet_out", "m1.clip")}
            {ModelMergeTests.Pipeline("v1", "v1.unet_out", "m1.clip")}
            {ModelMergeTests.Pipeline("v2", "v2.unet_out", "m1.clip")}
            """);

        // Two CFG steps (cond and uncond in one batch): at factors 1 the FreeU graph is the plain UNet exactly.
        var plain = run.Image("plain_decode").ToArray();
        Assert.Equal(plain, run.Image("ones_decode").ToArray());
        var v1 = run.Image("v1_decode").ToArray();
        Assert.True(MaxDifference(plain, v1) > 1e-3, "FreeU should change the image");
        Assert.True(MaxDifference(v1, run.Image("v2_decode").ToArray()) > 1e-4, "FreeU_V2 should draw another image than FreeU");
    }

    [Fact]
    public async Task FreeU_on_a_lora_matches_torch_in_either_order()
    {
        var run = await RunAsync($"""
              lora: {"{"} node: lora.apply, in: {"{"} unet: m1.unet, clip: m1.clip {"}"}, with: {"{"} path: "{LoraA}", strength_model: 0.8, strength_clip: 0.6 {"}"} {"}"}
              after: {"{"} node: unet.freeu, in: {"{"} unet: lora.unet_out {"}"} {"}"}
              first: {"{"} node: unet.freeu, in: {"{"} unet: m1.unet {"}"} {"}"}
              before: {"{"} node: lora.apply, in: {"{"} unet: first.unet_out, clip: m1.clip {"}"}, with: {"{"} path: "{LoraA}", strength_model: 0.8 {"}"} {"}"}
            """);

        var after = await PredictAsync(Unet(run, "after", "unet_out"));
        AssertClose(Ref("a_v1.out_sample"), after, "LoRA A then FreeU");
        AssertClose(Ref("a_v1.out_sample"), await PredictAsync(Unet(run, "before", "unet_out")), "FreeU then LoRA A");
        Assert.True(MaxDifference(after, await PredictAsync(Unet(run, "lora", "unet_out"))) > 0.1, "FreeU should change the LoRA'd prediction");
    }

    [Fact]
    public async Task FreeU_reaches_the_controlled_UNet_graph()
    {
        var controlFolder = Path.Combine(Data, "controlnet");
        var run = await RunAsync($"""
              freeu: {"{"} node: unet.freeu, in: {"{"} unet: m1.unet {"}"} {"}"}
              cn: {"{"} node: controlnet.load, with: {"{"} path: "{Path.Combine(controlFolder, "control-ldm-fp16.safetensors")}" {"}"} {"}"}
              hint: {"{"} node: image.load, with: {"{"} path: "{Path.Combine(controlFolder, "hint-a.png")}" {"}"} {"}"}
              tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: m1.tokenizer {"}"}, with: {"{"} text: a house {"}"} {"}"}
              positive: {"{"} node: clip.encode, in: {"{"} clip: m1.clip, tokens: tokens.tokens {"}"} {"}"}
              controlled: {"{"} node: controlnet.apply, in: {"{"} conditioning: positive.conditioning, control_net: cn.control_net, image: hint.image {"}"}, with: {"{"} strength: 0.6 {"}"} {"}"}
            """);

        var extras = Assert.IsType<Conditioning>(run.Result.Output("controlled", "result")).Extras;
        var plain = await PredictAsync(Unet(run, "m1", "unet"), extras);
        var freeU = await PredictAsync(Unet(run, "freeu", "unet_out"), extras);
        var uncontrolled = await PredictAsync(Unet(run, "freeu", "unet_out"));
        Assert.True(MaxDifference(plain, freeU) > 0.1, "FreeU should change the controlled prediction");
        Assert.True(MaxDifference(uncontrolled, freeU) > 0.1, "the ControlNet should still act beside FreeU");
    }

    [Fact]
    public async Task An_SDXL_checkpoint_takes_FreeU_too_and_at_ones_predicts_what_the_plain_UNet_does()
    {
        // The tiny SDXL checkpoint (model_channels 32, widths 64/32) meets the × 2 width once, as the SD 1.x one does.
        var sdxl = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-tiny");
        var run = (await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: freeu-sdxl
            nodes:
              x: {"{"} node: model.load, with: {"{"} path: "{Path.Combine(sdxl, "sdxl-fp16.safetensors")}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              ones: {"{"} node: unet.freeu, in: {"{"} unet: x.unet {"}"}, with: {"{"} b1: 1, b2: 1, s1: 1, s2: 1 {"}"} {"}"}
              v2: {"{"} node: unet.freeu, in: {"{"} unet: x.unet {"}"}, with: {"{"} b1: 1.3, b2: 1.4, version: 2 {"}"} {"}"}
            """, new Dictionary<string, object?>())).AssertCompleted();

        float[] Tensor(string name)
        {
            using var file = SafetensorsFile.Open(Path.Combine(sdxl, "lora", "reference.safetensors"));
            return file.ReadFloat32(name);
        }

        async Task<float[]> Predict(string node, string port)
        {
            var conditioning = new Conditioning(1, 16, 64, Tensor("unet.encoder_hidden_states"))
                .With(StandardExtras.PooledText, new ExtraTensor([1, 40], Tensor("unet.text_embeds")))
                .With(StandardExtras.TimeIds, new ExtraTensor([1, 6], Tensor("unet.time_ids")));
            return await Unet(run, node, port).PredictAsync(new DenoiserInput(Tensor("unet.sample"), new LatentShape(1, 4, 8, 8), Tensor("unet.timestep")[0], conditioning), CancellationToken.None);
        }

        var plain = await Predict("x", "unet");
        Assert.Equal(plain, await Predict("ones", "unet_out"));
        var v2 = await Predict("v2", "unet_out");
        Assert.All(v2, v => Assert.True(float.IsFinite(v)));
        Assert.True(MaxDifference(plain, v2) > 0.01, "FreeU_V2 should change the SDXL prediction");
    }

    [Theory]
    [InlineData("b1: 10.5", "b1", "10.5 is above the maximum 10")]
    [InlineData("s2: -0.1", "s2", "-0.1 is below the minimum 0")]
    [InlineData("version: 3", "version", "3 is above the maximum 2")]
    public void Factors_out_of_range_are_refused_before_the_run_naming_the_input(string setting, string input, string message)
    {
        var validation = SdEngine.Shared.Parse($"""
            flowdiffusion: 1
            name: freeu-range
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              f: {"{"} node: unet.freeu, in: {"{"} unet: m1.unet {"}"}, with: {"{"} {setting} {"}"} {"}"}
            """, new Dictionary<string, object?>());

        Assert.False(validation.IsValid);
        Assert.Contains(validation.Diagnostics, d => d.ToString()!.Contains($"node 'f': parameter '{input}': {message}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_model_folder_whose_UNet_takes_no_factors_fails_the_node_saying_what_to_do()
    {
        // models/tiny-sd is a diffusers-ONNX folder made elsewhere (the model generator), not by model.load's builder.
        var run = await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: freeu-old
            nodes:
              m1: { node: model.load, with: { path: models/tiny-sd } }
              f: { node: unet.freeu, in: { unet: m1.unet } }
            """, new Dictionary<string, object?>());

        run.AssertFailed("f", "takes no FreeU factors", "converted again on its next load");
    }

    private static async Task<SdRun> RunAsync(string nodes)
    {
        var yaml = $"""
            flowdiffusion: 1
            name: freeu
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {nodes}
            """;
        return (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
    }

    private static IUNetModel Unet(SdRun run, string node, string port) => Assert.IsAssignableFrom<IUNetModel>(run.Result.Output(node, port));

    // The reference call: lora/reference.safetensors' sample, timestep and text states (batch 1, 8×8, 77 × 64).
    private static async Task<float[]> PredictAsync(IUNetModel unet, Extras? extras = null)
    {
        var sample = Ref("unet.sample", "lora/reference.safetensors");
        var context = new Conditioning(1, 77, 64, Ref("unet.encoder_hidden_states", "lora/reference.safetensors")).WithExtras(extras ?? Extras.Empty);
        var input = new DenoiserInput(sample, new LatentShape(1, 4, 8, 8), Ref("unet.timestep", "lora/reference.safetensors")[0], context);
        return await unet.PredictAsync(input, CancellationToken.None);
    }

    private static float[] Ref(string name, string file = "freeu-reference.safetensors")
    {
        using var reference = SafetensorsFile.Open(Path.Combine(Data, file));
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
