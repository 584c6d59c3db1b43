using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// lora.apply on the tiny SD 1.x checkpoint, through model.load and real ONNX Runtime sessions, against torch's outputs
/// of the same checkpoint with the LoRAs merged offline (tools/reference/make_lora.py: W + s · alpha/rank · up · down).
/// A is kohya (F16, alpha, 1×1 and 3×3 LoCon convolutions, one module the model lacks); B is diffusers/PEFT. C is
/// LyCORIS (tools/reference/make_lycoris.py): LoHa (plain and with Tucker cores), LoKr (whole, decomposed and Tucker
/// factors; linear, 1×1 and 3×3), Tucker LoCon, and DoRA magnitudes on both axes, in the UNet and the text encoder. D
/// holds LyCORIS's whole-weight keys (diff, diff_b, w_norm, b_norm) and a LoRA module with a stray diff. E
/// (tools/reference/make_lycoris_oft.py) holds OFT (one with DoRA), BOFT, GLoRA in both layouts (one with DoRA) and
/// set_weight, on linear and convolution weights of the UNet and the text encoder.
/// </summary>
public sealed class LoraApplyTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "ldm-fp16.safetensors");
    private static readonly string LoraA = Path.Combine(Data, "lora", "kohya-a.safetensors");
    private static readonly string LoraB = Path.Combine(Data, "lora", "peft-b.safetensors");
    private static readonly string LoraC = Path.Combine(Data, "lora", "lycoris-c.safetensors");
    private static readonly string LoraD = Path.Combine(Data, "lora", "lycoris-d.safetensors");
    private static readonly string LoraE = Path.Combine(Data, "lora", "lycoris-e.safetensors");

    [Fact]
    public async Task A_kohya_lora_at_a_strength_matches_the_checkpoint_with_it_merged_in_torch_and_names_its_unmatched_keys()
    {
        // A fresh engine, so the node runs (and reports) rather than coming from another test's cache.
        using var engine = new SdEngine();
        var run = await RunAsync(engine, ("a", LoraA, 0.8f, 0.6f));

        var (unet, clip) = Models(run, "a");
        var (baseUnet, baseClip) = Models(run, "model");
        AssertClose(Ref("base.out_sample"), await PredictAsync(baseUnet), 1e-4, "base out_sample");
        AssertClose(Ref("base.last_hidden_state"), await EncodeAsync(baseClip), 1e-4, "base last_hidden_state");
        AssertClose(Ref("a.out_sample"), await PredictAsync(unet), 1e-4, "out_sample with A");
        AssertClose(Ref("a.last_hidden_state"), await EncodeAsync(clip), 1e-4, "last_hidden_state with A");
        // The LoRA moves the outputs far beyond the tolerance, so a LoRA applied wrong or not at all cannot pass.
        Assert.True(MaxDifference(Ref("a.out_sample"), Ref("base.out_sample")) > 0.1);
        Assert.True(MaxDifference(Ref("a.last_hidden_state"), Ref("base.last_hidden_state")) > 0.1);

        var message = run.Events.OfType<NodeProgressed>().Last(e => e.NodeId == "a" && e.Progress.Message is not null).Progress.Message;
        Assert.Contains("matched 28 of 30 keys (7 UNet, 3 text-encoder weights)", message);
        Assert.Contains("warning", message);
        Assert.Contains("lora_unet_down_blocks_5_attentions_0_proj_in.lora_up.weight", message);
        Assert.Contains("lora_unet_down_blocks_5_attentions_0_proj_in.lora_down.weight", message);
    }

    [Fact]
    public async Task Strength_zero_leaves_that_network_at_the_base_while_the_other_takes_the_lora()
    {
        var run = await RunAsync(("a", LoraA, 0f, 0.6f));

        var (unet, clip) = Models(run, "a");
        var (baseUnet, _) = Models(run, "model");
        var plain = await PredictAsync(baseUnet);
        Assert.Equal(plain.Values, (await PredictAsync(unet)).Values);
        AssertClose(Ref("base.out_sample"), await PredictAsync(unet), 1e-4, "out_sample at strength 0");
        AssertClose(Ref("a.last_hidden_state"), await EncodeAsync(clip), 1e-4, "last_hidden_state at clip strength 0.6");
    }

    [Fact]
    public async Task Two_stacked_loras_commute_and_match_both_merged_in_torch()
    {
        var ab = await RunAsync(("a", LoraA, 0.8f, 0.6f), ("b", LoraB, 1f, 1f));
        var ba = await RunAsync(("b", LoraB, 1f, 1f), ("a", LoraA, 0.8f, 0.6f));

        var (abUnet, abClip) = Models(ab, "b");
        var (baUnet, baClip) = Models(ba, "a");
        var unetAb = await PredictAsync(abUnet);
        var clipAb = await EncodeAsync(abClip);
        AssertClose(Ref("ab.out_sample"), unetAb, 1e-4, "out_sample with A then B");
        AssertClose(Ref("ab.last_hidden_state"), clipAb, 1e-4, "last_hidden_state with A then B");
        AssertClose(unetAb, await PredictAsync(baUnet), 1e-5, "out_sample: A then B against B then A");
        AssertClose(clipAb, await EncodeAsync(baClip), 1e-5, "last_hidden_state: A then B against B then A");
        Assert.True(MaxDifference(Ref("ab.out_sample"), Ref("a.out_sample")) > 0.05, "B should change the UNet's output");

        var message = ab.Events.OfType<NodeProgressed>().Last(e => e.NodeId == "b" && e.Progress.Message is not null).Progress.Message;
        Assert.Contains("(diffusers): matched 8 of 8 keys (2 UNet, 2 text-encoder weights)", message);
        Assert.DoesNotContain("warning", message);
    }

    [Theory]
    [InlineData(0.8f, 0.6f, "c")]
    [InlineData(1f, 1f, "c1")]
    public async Task A_lycoris_file_loha_lokr_tucker_and_dora_matches_the_checkpoint_with_it_merged_in_torch(float model, float clip, string reference)
    {
        // A fresh engine, so the node runs (and reports) rather than coming from another test's cache.
        using var engine = new SdEngine();
        var run = await RunAsync(engine, ("c", LoraC, model, clip));

        var (unet, text) = Models(run, "c");
        AssertClose(Ref($"{reference}.out_sample", Lycoris), await PredictAsync(unet), 1e-4, $"out_sample with C at {model}");
        AssertClose(Ref($"{reference}.last_hidden_state", Lycoris), await EncodeAsync(text), 1e-4, $"last_hidden_state with C at {clip}");
        // C moves the outputs far beyond the tolerance, so an algorithm applied wrong or not at all cannot pass.
        Assert.True(MaxDifference(Ref($"{reference}.out_sample", Lycoris), Ref("base.out_sample", Lycoris)) > 0.1);
        Assert.True(MaxDifference(Ref($"{reference}.last_hidden_state", Lycoris), Ref("base.last_hidden_state", Lycoris)) > 0.1);

        var message = run.Events.OfType<NodeProgressed>().Last(e => e.NodeId == "c" && e.Progress.Message is not null).Progress.Message;
        Assert.Contains("(kohya): matched 48 of 48 keys (8 UNet, 2 text-encoder weights)", message);
        Assert.DoesNotContain("warning", message);
    }

    [Fact]
    public async Task Lycoris_whole_weight_and_norm_keys_add_to_their_weights_and_biases_as_torch_merges_them()
    {
        using var engine = new SdEngine();
        var run = await RunAsync(engine, ("d", LoraD, 0.8f, 0.6f));

        var (unet, text) = Models(run, "d");
        const string Reference = "lycoris-d-reference.safetensors";
        AssertClose(Ref("d.out_sample", Reference), await PredictAsync(unet), 1e-4, "out_sample with D");
        AssertClose(Ref("d.last_hidden_state", Reference), await EncodeAsync(text), 1e-4, "last_hidden_state with D");
        Assert.True(MaxDifference(Ref("d.out_sample", Reference), Ref("base.out_sample", Reference)) > 0.1);
        Assert.True(MaxDifference(Ref("d.last_hidden_state", Reference), Ref("base.last_hidden_state", Reference)) > 0.1);

        // A diff beside a LoRA update replaces it (ComfyUI's load_lora assigns the diff after the LoRA); the LoRA's keys
        // are listed as changing nothing.
        var message = run.Events.OfType<NodeProgressed>().Last(e => e.NodeId == "d" && e.Progress.Message is not null).Progress.Message;
        Assert.Contains("(kohya): matched 8 of 10 keys (5 UNet, 3 text-encoder weights)", message);
        Assert.Contains("lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_v.lora_up.weight (diff replaces this module's weight", message);
        Assert.DoesNotContain("attn1_to_v.diff", message);
    }

    [Theory]
    [InlineData(0.8f, 0.6f, "e")]
    [InlineData(1f, 1f, "e1")]
    public async Task A_lycoris_file_of_oft_boft_glora_and_set_weight_matches_the_checkpoint_with_it_merged_in_torch(float model, float clip, string reference)
    {
        using var engine = new SdEngine();
        var run = await RunAsync(engine, ("e", LoraE, model, clip));

        var (unet, text) = Models(run, "e");
        const string Reference = "lycoris-e-reference.safetensors";
        AssertClose(Ref($"{reference}.out_sample", Reference), await PredictAsync(unet), 1e-4, $"out_sample with E at {model}");
        AssertClose(Ref($"{reference}.last_hidden_state", Reference), await EncodeAsync(text), 1e-4, $"last_hidden_state with E at {clip}");
        Assert.True(MaxDifference(Ref($"{reference}.out_sample", Reference), Ref("base.out_sample", Reference)) > 0.1);
        Assert.True(MaxDifference(Ref($"{reference}.last_hidden_state", Reference), Ref("base.last_hidden_state", Reference)) > 0.1);

        // OFT's rescale is read by ComfyUI's OFT merge and never applied: listed, not applied.
        var message = run.Events.OfType<NodeProgressed>().Last(e => e.NodeId == "e" && e.Progress.Message is not null).Progress.Message;
        Assert.Contains("(kohya): matched 33 of 34 keys (7 UNet, 5 text-encoder weights)", message);
        Assert.Contains("lora_unet_down_blocks_0_resnets_0_conv1.rescale (OFT's rescale", message);
    }

    [Fact]
    public async Task Set_weight_replaces_its_weight_at_strength_zero_beside_a_non_zero_strength_and_nothing_changes_at_both_zero()
    {
        var run = await RunAsync(("e", LoraE, 0f, 0.6f));
        const string Reference = "lycoris-e-reference.safetensors";
        var (unet, _) = Models(run, "e");
        AssertClose(Ref("e0.out_sample", Reference), await PredictAsync(unet), 1e-4, "out_sample at strength 0 beside clip 0.6");
        Assert.True(MaxDifference(Ref("e0.out_sample", Reference), Ref("base.out_sample", Reference)) > 0.1, "set_weight should change the UNet");

        var none = await RunAsync(("e", LoraE, 0f, 0f));
        var (baseUnet, baseClip) = Models(none, "model");
        var (sameUnet, sameClip) = Models(none, "e");
        Assert.Same(baseUnet, sameUnet);
        Assert.Same(baseClip, sameClip);
    }

    [Fact]
    public async Task A_missing_lora_file_fails_the_node_naming_the_parameter_and_file()
    {
        var run = await RunAsync(("a", Path.Combine(Data, "lora", "no-such.safetensors"), 1f, 1f));
        run.AssertFailed("a", "no-such.safetensors");
    }

    [Fact]
    public async Task Clip_out_read_without_a_clip_input_fails_the_node_naming_both_ports_before_loading_the_lora()
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: lora-without-clip
            nodes:
              model: { node: model.load, with: { path: "{{Checkpoint}}", tokenizer_folder: models/tiny-sd/tokenizer } }
              styled: { node: lora.apply, in: { unet: model.unet }, with: { path: "{{Path.Combine(Data, "lora", "no-such.safetensors")}}" } }
              tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a cat } }
              text: { node: clip.encode, in: { clip: styled.clip_out, tokens: tokens.tokens } }
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Equal(RunStatus.Failed, run.Result.Status);
        Assert.Equal("styled", run.Result.FailedNode);
        // The node and its type, the output read and the input missing; the missing LoRA file is not what it reports.
        Assert.Contains("'styled' (lora.apply", run.Result.Error);
        Assert.Contains("clip_out is connected, but the clip input is not", run.Result.Error);
        Assert.DoesNotContain("no-such.safetensors", run.Result.Error);
    }

    private static Task<SdRun> RunAsync(params (string Id, string File, float Model, float Clip)[] loras) => RunAsync(SdEngine.Shared, loras);

    private static async Task<SdRun> RunAsync(SdEngine engine, params (string Id, string File, float Model, float Clip)[] loras)
    {
        var yaml = $"""
            flowdiffusion: 1
            name: lora
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

        var run = await engine.RunYamlAsync(yaml, new Dictionary<string, object?>());
        return loras.Any(l => !File.Exists(l.File)) ? run : run.AssertCompleted();
    }

    private static (IUNetModel Unet, ITextEncoder Clip) Models(SdRun run, string node) => node == "model"
        ? (Assert.IsAssignableFrom<IUNetModel>(run.Result.Output(node, "unet")), Assert.IsAssignableFrom<ITextEncoder>(run.Result.Output(node, "clip")))
        : (Assert.IsAssignableFrom<IUNetModel>(run.Result.Output(node, "unet_out")), Assert.IsAssignableFrom<ITextEncoder>(run.Result.Output(node, "clip_out")));

    private static async Task<(float[] Values, long[] Shape)> PredictAsync(IUNetModel unet)
    {
        var sample = Ref("unet.sample");
        var context = Ref("unet.encoder_hidden_states");
        var timestep = Ref("unet.timestep").Values[0];
        var input = new DenoiserInput(sample.Values, new LatentShape(1, 4, 8, 8), timestep, new Conditioning(1, 77, 64, context.Values));
        return (await unet.PredictAsync(input, CancellationToken.None), [1, 4, 8, 8]);
    }

    private static async Task<(float[] Values, long[] Shape)> EncodeAsync(ITextEncoder clip)
    {
        var ids = InputIds();
        var tokens = new Tokens("reference ids", [new TokenChunk(ids, [.. Enumerable.Repeat(1f, ids.Length)])]);
        var conditioning = await clip.EncodeAsync([tokens], CancellationToken.None);
        return (conditioning.Embeddings.ToArray(), [1, 77, 64]);
    }

    private static int[] InputIds()
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "lora", "reference.safetensors"));
        var raw = file.GetBytes(file.Get("text_encoder.input_ids"));
        var ids = new int[raw.Length / 8];
        for (var i = 0; i < ids.Length; i++) ids[i] = (int)BitConverter.ToInt64(raw[(i * 8)..]);
        return ids;
    }

    private const string Lycoris = "lycoris-reference.safetensors";

    private static (float[] Values, long[] Shape) Ref(string name, string reference = "reference.safetensors")
    {
        using var file = SafetensorsFile.Open(Path.Combine(Data, "lora", reference));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static double MaxDifference((float[] Values, long[] Shape) a, (float[] Values, long[] Shape) b) =>
        a.Values.Zip(b.Values, (x, y) => (double)Math.Abs(x - y)).Max();

    private static void AssertClose((float[] Values, long[] Shape) expected, (float[] Values, long[] Shape) actual, double tolerance, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.Values.Length, actual.Values.Length);
        var worst = MaxDifference(expected, actual);
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} exceeds {tolerance}.");
        Assert.Contains(expected.Values, v => Math.Abs(v) > 0.1f);
    }
}
