using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// unet.merge, unet.merge_blocks and clip.merge (ComfyUI's model merging) on two tiny SD 1.x checkpoints of one
/// architecture with different weights: the merged weights against the closed form ComfyUI's patches compute
/// (model1 · strength_model + model2 · strength_patch, each product rounded to float32) from the two files' tensors,
/// images at ratios 1 and 0 against the models' own, a LoRA on model2 carried in, the cache, and a clear error for
/// models of different architectures.
/// </summary>
public sealed class ModelMergeTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    internal static readonly string First = Path.Combine(Data, "ldm-fp16.safetensors");
    private static readonly Lazy<string> SecondFile = new(() => WriteRolled(First));

    // Our graph's weight name → the checkpoint key, one per part of the UNet (ModelMergeBlocks' input, middle, out and the
    // default) and two of the text encoder.
    private static readonly (string Name, string Key, string Block)[] UNetWeights =
    [
        ("conv_in.weight", "model.diffusion_model.input_blocks.0.0.weight", "input"),
        ("time_embedding.linear_1.weight", "model.diffusion_model.time_embed.0.weight", "input"),
        ("mid_block.resnets.0.conv1.weight", "model.diffusion_model.middle_block.0.in_layers.2.weight", "middle"),
        ("conv_out.bias", "model.diffusion_model.out.2.bias", "out"),
    ];

    private static readonly (string Name, string Key)[] ClipWeights =
    [
        ("text_model.final_layer_norm.weight", "cond_stage_model.transformer.text_model.final_layer_norm.weight"),
        ("text_model.embeddings.position_embedding.weight", "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight"),
    ];

    internal static string Second => SecondFile.Value;

    [Fact]
    public async Task Merged_weights_equal_comfyuis_closed_form_from_the_two_checkpoints()
    {
        var run = await RunAsync("""
              simple: { node: unet.merge, in: { unet1: m1.unet, unet2: m2.unet }, with: { strength1: 0.3, strength2: 0.7 } }
              add: { node: unet.merge, in: { unet1: m1.unet, unet2: m2.unet }, with: { strength1: 1, strength2: 1 } }
              subtract: { node: unet.merge, in: { unet1: m1.unet, unet2: m2.unet }, with: { strength1: 2.5, strength2: -2.5 } }
              blocks: { node: unet.merge_blocks, in: { unet1: m1.unet, unet2: m2.unet }, with: { input: 0.2, middle: 0.6, out: 0.9 } }
              clip: { node: clip.merge, in: { clip1: m1.clip, clip2: m2.clip }, with: { strength1: 0.3, strength2: 0.7 } }
            """);

        using var one = SafetensorsFile.Open(First);
        using var two = SafetensorsFile.Open(Second);
        var unetPath = ModelFile(run, "m1", "unet");
        foreach (var (node, strengths) in new (string, Func<string, (float, float)>)[]
        {
            ("simple", _ => (0.3f, 0.7f)),
            ("add", _ => (1f, 1f)),
            ("subtract", _ => (2.5f, -2.5f)),
            ("blocks", block => block switch { "middle" => (0.6f, 1 - 0.6f), "out" => (0.9f, (float)(1 - 0.9)), _ => (0.2f, 0.8f) }),
        })
        {
            var merged = Assert.IsAssignableFrom<IOverridableModel<IUNetModel>>(run.Result.Output(node, "merged"));
            foreach (var (name, key, block) in UNetWeights)
            {
                var (a, b) = strengths(block);
                AssertClosedForm(Bound(merged.Overrides, unetPath, name), one.ReadFloat32(key), two.ReadFloat32(key), a, b, $"{node} {name}");
            }
        }

        var clip = Assert.IsAssignableFrom<IOverridableModel<ITextEncoder>>(run.Result.Output("clip", "merged"));
        var clipPath = ModelFile(run, "m1", "text_encoder");
        foreach (var (name, key) in ClipWeights)
        {
            AssertClosedForm(Bound(clip.Overrides, clipPath, name), one.ReadFloat32(key), two.ReadFloat32(key), 0.3f, 0.7f, $"clip {name}");
        }
        // Graph constants are no model weights: adding the models leaves the timestep frequencies and scalars as they are.
        var added = Assert.IsAssignableFrom<IOverridableModel<IUNetModel>>(run.Result.Output("add", "merged"));
        Assert.DoesNotContain(added.Overrides, o => o.Name.EndsWith("frequencies", StringComparison.Ordinal) || o.Name.StartsWith("scalar", StringComparison.Ordinal));
        Assert.Contains(added.Overrides, o => o.Name == "up_blocks.0.resnets.0.conv1.weight");
    }

    [Fact]
    public async Task Ratio_one_gives_model1s_image_and_ratio_zero_model2s_exactly()
    {
        var run = await RunAsync($"""
              u1: {"{"} node: unet.merge, in: {"{"} unet1: m1.unet, unet2: m2.unet {"}"}, with: {"{"} strength1: 1, strength2: 0 {"}"} {"}"}
              c1: {"{"} node: clip.merge, in: {"{"} clip1: m1.clip, clip2: m2.clip {"}"}, with: {"{"} strength1: 1, strength2: 0 {"}"} {"}"}
              u0: {"{"} node: unet.merge, in: {"{"} unet1: m1.unet, unet2: m2.unet {"}"}, with: {"{"} strength1: 0, strength2: 1 {"}"} {"}"}
              c0: {"{"} node: clip.merge, in: {"{"} clip1: m1.clip, clip2: m2.clip {"}"}, with: {"{"} strength1: 0, strength2: 1 {"}"} {"}"}
              uh: {"{"} node: unet.merge, in: {"{"} unet1: m1.unet, unet2: m2.unet {"}"}, with: {"{"} strength1: 0.5, strength2: 0.5 {"}"} {"}"}
              ch: {"{"} node: clip.merge, in: {"{"} clip1: m1.clip, clip2: m2.clip {"}"}, with: {"{"} strength1: 0.5, strength2: 0.5 {"}"} {"}"}
            {Pipeline("first", "m1.unet", "m1.clip")}
            {Pipeline("second", "m2.unet", "m2.clip")}
            {Pipeline("one", "u1.merged", "c1.merged")}
            {Pipeline("zero", "u0.merged", "c0.merged")}
            {Pipeline("half", "uh.merged", "ch.merged")}
            """);

        var first = run.Image("first_decode").ToArray();
        var second = run.Image("second_decode").ToArray();
        Assert.Equal(first, run.Image("one_decode").ToArray());
        Assert.Equal(second, run.Image("zero_decode").ToArray());
        // The two models' images differ, and the half merge is neither.
        var half = run.Image("half_decode").ToArray();
        Assert.True(MaxDifference(first, second) > 0.05, "the two checkpoints should draw different images");
        Assert.True(MaxDifference(half, first) > 1e-3 && MaxDifference(half, second) > 1e-3);
    }

    [Fact]
    public async Task A_lora_on_model2_carries_into_the_merge()
    {
        var lora = Path.Combine(Data, "lora", "kohya-a.safetensors");
        var run = await RunAsync($"""
              lora: {"{"} node: lora.apply, in: {"{"} unet: m2.unet, clip: m2.clip {"}"}, with: {"{"} path: "{lora}", strength_model: 0.8, strength_clip: 0.6 {"}"} {"}"}
              u0: {"{"} node: unet.merge, in: {"{"} unet1: m1.unet, unet2: lora.unet_out {"}"}, with: {"{"} strength1: 0, strength2: 1 {"}"} {"}"}
              c0: {"{"} node: clip.merge, in: {"{"} clip1: m1.clip, clip2: lora.clip_out {"}"}, with: {"{"} strength1: 0, strength2: 1 {"}"} {"}"}
              u3: {"{"} node: unet.merge, in: {"{"} unet1: m1.unet, unet2: lora.unet_out {"}"}, with: {"{"} strength1: 0.3, strength2: 0.7 {"}"} {"}"}
            """);

        var withLora = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("lora", "unet_out"));
        var plain = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("m2", "unet"));
        var merged = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("u0", "merged"));
        var expected = await PredictAsync(withLora);
        Assert.Equal(expected, await PredictAsync(merged));
        Assert.True(MaxDifference(expected, await PredictAsync(plain)) > 1e-3, "the LoRA should change model2's prediction");
        var tokens = Tokens();
        var clipWithLora = await Assert.IsAssignableFrom<ITextEncoder>(run.Result.Output("lora", "clip_out")).EncodeAsync([tokens], CancellationToken.None);
        var clipMerged = await Assert.IsAssignableFrom<ITextEncoder>(run.Result.Output("c0", "merged")).EncodeAsync([tokens], CancellationToken.None);
        Assert.Equal(clipWithLora.Embeddings.ToArray(), clipMerged.Embeddings.ToArray());

        // A weight the LoRA changes: 0.3 · model1's + 0.7 · (model2's with the LoRA).
        var unetPath = ModelFile(run, "m1", "unet");
        var loraHandle = Assert.IsAssignableFrom<IOverridableModel<IUNetModel>>(withLora);
        var name = loraHandle.Overrides[0].Name;
        var modelTwoPath = ModelFile(run, "m2", "unet");
        var changed = Bound(loraHandle.Overrides, modelTwoPath, name);
        Assert.True(MaxDifference(changed, OnnxModelFile.Read(modelTwoPath).ReadWeight(name).ToFloats()) > 1e-4);
        var merged3 = Assert.IsAssignableFrom<IOverridableModel<IUNetModel>>(run.Result.Output("u3", "merged"));
        AssertClosedForm(Bound(merged3.Overrides, unetPath, name), OnnxModelFile.Read(unetPath).ReadWeight(name).ToFloats(), changed, 0.3f, 0.7f, name);
    }

    [Fact]
    public async Task Changing_the_ratio_changes_the_merged_model_and_the_same_ratio_reuses_it()
    {
        using var engine = new SdEngine();
        var first = await MergedAsync(engine, 0.25);
        var again = await MergedAsync(engine, 0.25);
        var other = await MergedAsync(engine, 0.75);

        Assert.Equal(first.Identity, again.Identity);
        Assert.NotEqual(first.Identity, other.Identity);
        Assert.Equal(first.Prediction, again.Prediction);
        Assert.True(MaxDifference(first.Prediction, other.Prediction) > 1e-3, "another ratio should give another prediction");
    }

    [Fact]
    public async Task Models_of_different_architectures_fail_the_merge_naming_the_first_mismatched_weight()
    {
        var yaml = $"""
            flowdiffusion: 1
            name: merge-mismatch
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{First}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              tiny: {"{"} node: model.load, with: {"{"} path: models/tiny-sd {"}"} {"}"}
              merge: {"{"} node: unet.merge, in: {"{"} unet1: m1.unet, unet2: tiny.unet {"}"}, with: {"{"} strength1: 0.5, strength2: 0.5 {"}"} {"}"}
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());

        run.AssertFailed("merge", "unet2: the models cannot be merged, they differ in architecture", "weight 'time_embedding.linear_1.weight' is float32 [128, 32] in unet1 but float32 [32, 64] in unet2");
    }

    [Fact]
    public async Task An_sdxl_text_encoder_merges_with_its_like_and_not_with_an_sd1_one()
    {
        var sdxl = Path.Combine(Data, "..", "sdxl-tiny", "sdxl-fp16.safetensors");
        var yaml = $"""
            flowdiffusion: 1
            name: merge-sdxl
            nodes:
              x: {"{"} node: model.load, with: {"{"} path: "{sdxl}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              half: {"{"} node: clip.merge, in: {"{"} clip1: x.clip, clip2: x.clip {"}"}, with: {"{"} strength1: 0.5, strength2: 0.5 {"}"} {"}"}
              scaled: {"{"} node: clip.merge, in: {"{"} clip1: x.clip, clip2: x.clip {"}"}, with: {"{"} strength1: 0.5, strength2: 0.25 {"}"} {"}"}
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var tokenizer = Assert.IsAssignableFrom<ITokenizer>(run.Result.Output("x", "tokenizer"));
        var tokens = tokenizer.Tokenize("a red circle");
        async Task<float[]> Encode(string node, string output) =>
            (await Assert.IsAssignableFrom<ITextEncoder>(run.Result.Output(node, output)).EncodeAsync([tokens], CancellationToken.None)).Embeddings.ToArray();

        // 0.5 · W + 0.5 · W is W exactly; 0.75 · W is another encoder in both towers: the context's first 32 features of
        // each token come from CLIP ViT-L, the other 32 from OpenCLIP.
        var plain = await Encode("x", "clip");
        Assert.Equal(plain, await Encode("half", "merged"));
        var scaled = await Encode("scaled", "merged");
        float[] Tower(float[] context, int tower) => [.. context.Where((_, i) => i % 64 / 32 == tower)];
        Assert.True(MaxDifference(Tower(plain, 0), Tower(scaled, 0)) > 1e-3, "the first tower should be merged");
        Assert.True(MaxDifference(Tower(plain, 1), Tower(scaled, 1)) > 1e-3, "the second tower should be merged");

        var mixed = await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: merge-sdxl-sd1
            nodes:
              x: {"{"} node: model.load, with: {"{"} path: "{sdxl}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              m1: {"{"} node: model.load, with: {"{"} path: "{First}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              merge: {"{"} node: clip.merge, in: {"{"} clip1: m1.clip, clip2: x.clip {"}"} {"}"}
            """, new Dictionary<string, object?>());
        Assert.Equal("merge", mixed.Result.FailedNode);
        Assert.Contains("clip2: the models cannot be merged, they differ in architecture: clip1 is an SD 1.x/2.x text encoder (one tower) and clip2 an SDXL text encoder (two towers)", mixed.Result.Error);
    }

    [Fact]
    public void A_ratio_out_of_range_is_refused_naming_it()
    {
        var validation = SdEngine.Shared.Parse($"""
            flowdiffusion: 1
            name: merge-range
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: models/tiny-sd {"}"} {"}"}
              merge: {"{"} node: unet.merge_blocks, in: {"{"} unet1: m1.unet, unet2: m1.unet {"}"}, with: {"{"} middle: 1.5 {"}"} {"}"}
            """, new Dictionary<string, object?>());

        Assert.False(validation.IsValid);
        Assert.Contains("middle", string.Join("\n", validation.Diagnostics));
    }

    private static async Task<(string Identity, float[] Prediction)> MergedAsync(SdEngine engine, double ratio)
    {
        var r = ratio.ToString(CultureInfo.InvariantCulture);
        var s = (1 - ratio).ToString(CultureInfo.InvariantCulture);
        var run = await RunAsync(engine, $$"""
              merge: { node: unet.merge, in: { unet1: m1.unet, unet2: m2.unet }, with: { strength1: {{r}}, strength2: {{s}} } }
            """);
        var merged = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("merge", "merged"));
        return (Assert.IsAssignableFrom<IOverridableModel<IUNetModel>>(merged).Overrides.Identity, await PredictAsync(merged));
    }

    private static Task<SdRun> RunAsync(string nodes) => RunAsync(SdEngine.Shared, nodes);

    private static async Task<SdRun> RunAsync(SdEngine engine, string nodes)
    {
        var yaml = $"""
            flowdiffusion: 1
            name: merge
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{First}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              m2: {"{"} node: model.load, with: {"{"} path: "{Second}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {nodes}
            """;
        return (await engine.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
    }

    // txt2img at 32² in two steps with CFG, its nodes prefixed with `id` (ModelSaveTests draws with it too).
    internal static string Pipeline(string id, string unet, string clip, string vae = "m1.vae", string tokenizer = "m1.tokenizer", string config = "m1.scheduler_config") => $"""
          {id}_tokens: {"{"} node: clip.tokenize, in: {"{"} tokenizer: {tokenizer} {"}"}, with: {"{"} text: a red circle {"}"} {"}"}
          {id}_empty: {"{"} node: clip.tokenize, in: {"{"} tokenizer: {tokenizer} {"}"}, with: {"{"} text: "" {"}"} {"}"}
          {id}_positive: {"{"} node: clip.encode, in: {"{"} clip: {clip}, tokens: {id}_tokens.tokens {"}"} {"}"}
          {id}_negative: {"{"} node: clip.encode, in: {"{"} clip: {clip}, tokens: {id}_empty.tokens {"}"} {"}"}
          {id}_denoiser: {"{"} node: unet.denoiser, in: {"{"} unet: {unet} {"}"} {"}"}
          {id}_guider: {"{"} node: guidance.cfg, in: {"{"} denoiser: {id}_denoiser.denoiser, positive: {id}_positive.conditioning, negative: {id}_negative.conditioning {"}"}, with: {"{"} scale: 5 {"}"} {"}"}
          {id}_schedule: {"{"} node: diffusion.scheduler, in: {"{"} config: {config} {"}"}, with: {"{"} name: euler, steps: 2 {"}"} {"}"}
          {id}_noise: {"{"} node: latent.noise, in: {"{"} unet: m1.unet {"}"}, with: {"{"} seed: 5, width: 32, height: 32 {"}"} {"}"}
          {id}_sample: {"{"} node: diffusion.sample, in: {"{"} guider: {id}_guider.guider, schedule: {id}_schedule.schedule, noise: {id}_noise.noise {"}"} {"}"}
          {id}_decode: {"{"} node: vae.decode, in: {"{"} vae: {vae}, latent: {id}_sample.latent {"}"} {"}"}
        """;

    // The model file model.load's node `load` opened for `part` (unet, text_encoder): its folder holds the scheduler configuration too.
    internal static string ModelFile(SdRun run, string load, string part)
    {
        var config = Assert.IsType<SchedulerConfigSource>(run.Result.Output(load, "scheduler_config"));
        var folder = Path.GetDirectoryName(Path.GetDirectoryName(config.Path))!;
        return Path.Combine(folder, part, "model.onnx");
    }

    // What the session binds for weight `name`: the graph's value with the handle's overrides of it applied in order.
    private static float[] Bound(WeightOverrides overrides, string modelPath, string name) => Bound(overrides, OnnxModelFile.Read(modelPath), name);

    internal static float[] Bound(WeightOverrides overrides, OnnxModelFile file, string name)
    {
        WeightTensor? value = null;
        foreach (var weightOverride in overrides.Where(o => o.Name == name))
        {
            var previous = value;
            value = weightOverride.Apply(() => previous ?? file.ReadWeight(name), CancellationToken.None);
        }
        return (value ?? file.ReadWeight(name)).ToFloats();
    }

    // ComfyUI's calculate_weight: weight *= strength_model; weight += strength_patch · model2's weight, in float32.
    internal static void AssertClosedForm(float[] actual, float[] one, float[] two, float a, float b, string what)
    {
        Assert.Equal(one.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < one.Length; i++)
        {
            var scaled = a * one[i];
            var patch = b * two[i];
            worst = Math.Max(worst, Math.Abs(actual[i] - (scaled + patch)));
        }
        Assert.True(worst <= 1e-6, $"{what}: max |merged − closed form| {worst:G4} exceeds 1e-6.");
        Assert.True(MaxDifference(one, two) > 1e-3, $"{what}: the two models' values should differ");
    }

    private static async Task<float[]> PredictAsync(IUNetModel unet)
    {
        var shape = new LatentShape(1, 4, 8, 8);
        var sample = Enumerable.Range(0, shape.Length).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        var context = new Conditioning(1, 77, 64, [.. Enumerable.Range(0, 77 * 64).Select(i => MathF.Cos(i * 0.01f))]);
        return await unet.PredictAsync(new DenoiserInput(sample, shape, 500f, context), CancellationToken.None);
    }

    private static Tokens Tokens()
    {
        int[] ids = [766, 17, 305, 42, 9, .. Enumerable.Repeat(767, 72)];
        return new Tokens("ids", [new TokenChunk(ids, [.. Enumerable.Repeat(1f, ids.Length)])]);
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

    // Model2: a tiny checkpoint with every float16 tensor rolled by one element and shifted by 0.01 — same architecture,
    // other weights. Written once into the temp folder (the same bytes each time, so its conversion is cached).
    internal static string WriteRolled(string source)
    {
        var folder = Path.Combine(Path.GetTempPath(), "flowdiffusion-merge-tests");
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, source == First ? "sd1-tiny-rolled.safetensors" : Path.GetFileNameWithoutExtension(source) + "-rolled.safetensors");
        var bytes = File.ReadAllBytes(source);
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, length))!.AsObject();
        foreach (var (name, entry) in header)
        {
            if (name == "__metadata__" || entry!["dtype"]!.GetValue<string>() != "F16") continue;
            var start = 8 + length + entry["data_offsets"]![0]!.GetValue<long>();
            var end = 8 + length + entry["data_offsets"]![1]!.GetValue<long>();
            var span = bytes.AsSpan((int)start, (int)(end - start));
            var count = span.Length / 2;
            var values = new float[count];
            for (var i = 0; i < count; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(span[(((i + 1) % count) * 2)..]);
            for (var i = 0; i < count; i++) BinaryPrimitives.WriteHalfLittleEndian(span[(i * 2)..], (Half)(values[i] + 0.01f));
        }
        var temporary = target + "." + Environment.ProcessId + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        if (File.Exists(target) && File.ReadAllBytes(target).AsSpan().SequenceEqual(bytes))
        {
            File.Delete(temporary);
        }
        else
        {
            File.Move(temporary, target, overwrite: true);
        }
        return target;
    }
}
