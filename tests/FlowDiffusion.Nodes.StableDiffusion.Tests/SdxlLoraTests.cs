using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// lora.apply on the tiny SDXL checkpoint, through model.load and real ONNX Runtime sessions, against torch's outputs
/// of the checkpoint with the LoRAs merged offline into its single-file tensors (tools/reference/make_sdxl_lora.py).
/// A is kohya's SDXL format (lora_unet_ in SGM block names at transformer depth 1, LoCon convolutions; lora_te1_;
/// lora_te2_ whose q/k/v are row ranges of OpenCLIP's fused in_proj; one module the model lacks); B is diffusers/PEFT
/// (unet., text_encoder., text_encoder_2.).
/// </summary>
public sealed class SdxlLoraTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "sdxl-fp16.safetensors");
    private static readonly string LoraA = Path.Combine(Data, "lora", "kohya-a.safetensors");
    private static readonly string LoraB = Path.Combine(Data, "lora", "peft-b.safetensors");

    [Fact]
    public async Task A_kohya_sdxl_lora_matches_the_checkpoint_with_it_merged_in_torch_and_names_its_unmatched_keys()
    {
        using var engine = new SdEngine();
        var run = await RunAsync(engine, ("a", LoraA, 0.8f, 0.6f));

        var (baseUnet, baseClip) = Models(run, "model");
        var (unet, clip) = Models(run, "a");
        AssertClose(Ref("base.out_sample"), await PredictAsync(baseUnet), 1e-4, "base out_sample");
        await AssertEncodesAsync("base", baseClip);
        AssertClose(Ref("a.out_sample"), await PredictAsync(unet), 1e-4, "out_sample with A");
        await AssertEncodesAsync("a", clip);
        Assert.True(MaxDifference(Ref("a.out_sample"), Ref("base.out_sample")) > 0.1);
        Assert.True(MaxDifference(Ref("a.hidden_states_2"), Ref("base.hidden_states_2")) > 0.1);
        Assert.True(MaxDifference(Ref("a.text_embeds"), Ref("base.text_embeds")) > 0.1);

        var message = run.Events.OfType<NodeProgressed>().Last(e => e.NodeId == "a" && e.Progress.Message is not null).Progress.Message;
        Assert.Contains("matched 42 of 44 keys (9 UNet, 6 text-encoder weights)", message);
        Assert.Contains("warning", message);
        Assert.Contains("lora_unet_input_blocks_9_1_proj_in.lora_up.weight", message);
        Assert.Contains("lora_unet_input_blocks_9_1_proj_in.lora_down.weight", message);
    }

    [Fact]
    public async Task Kohya_and_peft_sdxl_loras_stacked_match_both_merged_in_torch()
    {
        var run = await RunAsync(SdEngine.Shared, ("a", LoraA, 0.8f, 0.6f), ("b", LoraB, 1f, 1f));

        var (unet, clip) = Models(run, "b");
        AssertClose(Ref("ab.out_sample"), await PredictAsync(unet), 1e-4, "out_sample with A then B");
        await AssertEncodesAsync("ab", clip);
        Assert.True(MaxDifference(Ref("ab.out_sample"), Ref("a.out_sample")) > 0.05, "B should change the UNet's output");
        Assert.True(MaxDifference(Ref("ab.hidden_states"), Ref("a.hidden_states")) > 0.05, "B should change the first tower");
        Assert.True(MaxDifference(Ref("ab.text_embeds"), Ref("a.text_embeds")) > 0.05, "B should change the pooled projection");

        var message = run.Events.OfType<NodeProgressed>().Last(e => e.NodeId == "b" && e.Progress.Message is not null).Progress.Message;
        Assert.Contains("(diffusers): matched 12 of 12 keys (3 UNet, 3 text-encoder weights)", message);
        Assert.DoesNotContain("warning", message);
    }

    [Fact]
    public async Task An_sdxl_lora_on_an_sd1_model_leaves_its_text_encoder_alone_and_says_why()
    {
        var yaml = $"""
            flowdiffusion: 1
            name: lora
            nodes:
              model:
                node: model.load
                with: {"{"} path: "{Path.Combine(Data, "..", "sd1-tiny", "ldm-fp16.safetensors")}", tokenizer_folder: models/tiny-sd/tokenizer {"}"}
              a:
                node: lora.apply
                in: {"{"} unet: model.unet, clip: model.clip {"}"}
                with: {"{"} path: "{LoraA}" {"}"}
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var message = run.Events.OfType<NodeProgressed>().Last(e => e.NodeId == "a" && e.Progress.Message is not null).Progress.Message;
        Assert.Contains("0 text-encoder weights", message);
        Assert.Contains("an SDXL text-encoder module (lora_te1_/lora_te2_); this model has one text encoder", message);
        Assert.Same(run.Result.Output("model", "clip"), run.Result.Output("a", "clip_out"));
    }

    private static async Task<SdRun> RunAsync(SdEngine engine, params (string Id, string File, float Model, float Clip)[] loras)
    {
        var yaml = $"""
            flowdiffusion: 1
            name: sdxl-lora
            nodes:
              model:
                node: model.load
                with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"}

            """;
        var previous = "model";
        foreach (var (id, file, model, clip) in loras)
        {
            var (unet, text) = previous == "model" ? ("model.unet", "model.clip") : ($"{previous}.unet_out", $"{previous}.clip_out");
            yaml += $"""
                  {id}:
                    node: lora.apply
                    in: {"{"} unet: {unet}, clip: {text} {"}"}
                    with: {"{"} path: "{file}", strength_model: {model.ToString(System.Globalization.CultureInfo.InvariantCulture)}, strength_clip: {clip.ToString(System.Globalization.CultureInfo.InvariantCulture)} {"}"}

                """;
            previous = id;
        }

        return (await engine.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
    }

    private static (IUNetModel Unet, ITextEncoder Clip) Models(SdRun run, string node) => node == "model"
        ? (Assert.IsAssignableFrom<IUNetModel>(run.Result.Output(node, "unet")), Assert.IsAssignableFrom<ITextEncoder>(run.Result.Output(node, "clip")))
        : (Assert.IsAssignableFrom<IUNetModel>(run.Result.Output(node, "unet_out")), Assert.IsAssignableFrom<ITextEncoder>(run.Result.Output(node, "clip_out")));

    private static async Task<(float[] Values, long[] Shape)> PredictAsync(IUNetModel unet)
    {
        var conditioning = new Conditioning(1, 16, 64, Ref("unet.encoder_hidden_states").Values)
            .With(StandardExtras.PooledText, new ExtraTensor([1, 40], Ref("unet.text_embeds").Values))
            .With(StandardExtras.TimeIds, new ExtraTensor([1, 6], Ref("unet.time_ids").Values));
        var input = new DenoiserInput(Ref("unet.sample").Values, new LatentShape(1, 4, 8, 8), Ref("unet.timestep").Values[0], conditioning);
        return (await unet.PredictAsync(input, CancellationToken.None), [1, 4, 8, 8]);
    }

    /// <summary>The clip output is both towers' penultimate states side by side (32 + 32 wide) and the pooled projection.</summary>
    private static async Task AssertEncodesAsync(string prefix, ITextEncoder clip)
    {
        var ids = Ids();
        var tokens = new Tokens("reference ids", [new TokenChunk(ids, [.. Enumerable.Repeat(1f, ids.Length)])]);
        var conditioning = await clip.EncodeAsync([tokens], CancellationToken.None);
        var all = conditioning.Embeddings.ToArray();
        float[] Half(int offset) => [.. Enumerable.Range(0, 77).SelectMany(t => all.AsSpan((t * 64) + offset, 32).ToArray())];
        AssertClose(Ref($"{prefix}.hidden_states"), (Half(0), [1, 77, 32]), 1e-4, $"{prefix}: first tower");
        AssertClose(Ref($"{prefix}.hidden_states_2"), (Half(32), [1, 77, 32]), 1e-4, $"{prefix}: second tower");
        Assert.True(conditioning.Extras.TryGet(StandardExtras.PooledText, out var pooled));
        AssertClose(Ref($"{prefix}.text_embeds"), (pooled.ToArray(), [1, 40]), 1e-4, $"{prefix}: text_embeds");
    }

    private static int[] Ids()
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "lora", "reference.safetensors"));
        var raw = file.GetBytes(file.Get("text_encoder.input_ids"));
        var ids = new int[raw.Length / 8];
        for (var i = 0; i < ids.Length; i++) ids[i] = (int)BitConverter.ToInt64(raw[(i * 8)..]);
        return ids;
    }

    private static (float[] Values, long[] Shape) Ref(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "lora", "reference.safetensors"));
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
