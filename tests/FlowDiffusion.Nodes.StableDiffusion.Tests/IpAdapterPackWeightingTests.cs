using System.Globalization;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// ipadapter.apply's weight_type, embeds_scaling, combine and negative — ComfyUI's IPAdapter_plus pack's settings — on
/// the tiny SD 1.x checkpoint and adapter, against torch (tools/reference/make_ipadapter_pack.py restates the pack's
/// per-layer attention patch on the reference UNet), and clip_vision.encode's black unconditional side.
/// </summary>
public sealed class IpAdapterPackWeightingTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private static readonly string Folder = Path.Combine(Data, "ipadapter");

    [Theory]
    [InlineData("ease_in", "weight_type: ease in")]
    [InlineData("ease_in_out", "weight_type: ease in-out")]
    [InlineData("weak_input", "weight_type: weak input")]
    [InlineData("strong_middle", "weight_type: strong middle")]
    [InlineData("composition", "weight_type: composition")]
    [InlineData("k_v", "embeds_scaling: K+V")]
    [InlineData("k_v_penalty", "embeds_scaling: K+V w/ C penalty, weight: 3")]
    [InlineData("k_mean_v_penalty", "embeds_scaling: K+mean(V) w/ C penalty, weight: 3", true)]
    [InlineData("add", "combine: add", true)]
    [InlineData("subtract", "combine: subtract", true)]
    [InlineData("average", "combine: average", true)]
    [InlineData("norm_average", "combine: norm average", true)]
    public async Task The_packs_weightings_predict_as_torch_does(string reference, string settings, bool twoImages = false)
    {
        // Image a, or image a and its inverse as one batch, through the adapter at weight 0.9 unless the settings say otherwise.
        var images = twoImages
            ? """
                inverse: { node: image.invert, in: { image: image_a.image } }
                batch: { node: image.batch, in: { image1: image_a.image, image2: inverse.inverted } }

              """
            : "";
        var weight = settings.Contains("weight:", StringComparison.Ordinal) ? "" : "weight: 0.9, ";
        var yaml = Yaml(images + $$"""
              embeds: { node: clip_vision.encode, in: { clip_vision: encoder.clip_vision, image: {{(twoImages ? "batch.batched" : "image_a.image")}} } }
              adapted:
                node: ipadapter.apply
                in: { conditioning: positive.conditioning, adapter: ipadapter.adapter, embeds: embeds.embeds }
                with: { {{weight}}{{settings}} }
            """);
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        var extras = Assert.IsType<Conditioning>(run.Result.Output("adapted", "result")).Extras;
        var expected = Pack(reference);
        var actual = await PredictAsync(unet, extras);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst < 1e-4, $"{reference}: |C# − torch| reaches {worst}");
    }

    [Fact]
    public async Task A_black_unconditional_side_is_the_encoding_of_a_black_image()
    {
        var yaml = Yaml("""
              black: { node: image.empty, with: { width: 40, height: 56, color: 0 } }
              of_black: { node: clip_vision.encode, in: { clip_vision: encoder.clip_vision, image: black.image } }
              zeros: { node: clip_vision.encode, in: { clip_vision: encoder.clip_vision, image: image_a.image } }
              blacks: { node: clip_vision.encode, in: { clip_vision: encoder.clip_vision, image: image_a.image }, with: { unconditional: black } }
            """);
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        ClipVisionHiddenStates States(string node) => Assert.IsType<ClipVisionOutput>(run.Result.Output(node, "embeds")).HiddenStates!;
        Assert.Equal(States("of_black").Penultimate.ToArray(), States("blacks").Unconditional.ToArray());
        Assert.Equal(States("zeros").Penultimate.ToArray(), States("blacks").Penultimate.ToArray());
        Assert.NotEqual(States("zeros").Unconditional.ToArray(), States("blacks").Unconditional.ToArray());
    }

    // SD 1.5's 16 cross-attention layers in the adapter's order (down, up, middle) and SDXL's 70, by width.
    private static readonly int[] Sd15 = [320, 320, 640, 640, 1280, 1280, 1280, 1280, 1280, 640, 640, 640, 320, 320, 320, 1280];
    private static readonly int[] Sdxl = [.. Enumerable.Repeat(640, 4), .. Enumerable.Repeat(1280, 20), .. Enumerable.Repeat(1280, 30), .. Enumerable.Repeat(640, 6), .. Enumerable.Repeat(1280, 10)];

    // SDXL's transformer index per layer: 0–3 down (depths 2, 2, 10, 10), 5–10 up (10, 10, 10, 2, 2, 2), 4 the middle (10).
    private static readonly int[] SdxlTransformers =
    [
        0, 0, 1, 1, .. Enumerable.Repeat(2, 10), .. Enumerable.Repeat(3, 10), .. Enumerable.Repeat(5, 10), .. Enumerable.Repeat(6, 10), .. Enumerable.Repeat(7, 10),
        8, 8, 9, 9, 10, 10, .. Enumerable.Repeat(4, 10),
    ];

    public static TheoryData<string, bool, float[]> Tables => new()
    {
        // SD 1.5: layers 0–5 are transformers 0–5 (input), 6–14 are 7–15 (output), 15 is 6 (middle). Hand-worked from the pack's tables.
        { "style transfer", false, [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0] },
        { "composition", false, [0, 0, 0, 0, 0.25f, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
        { "strong style transfer", false, [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
        { "style and composition", false, [1, 1, 1, 1, 0.25f, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0] },
        { "weak middle", false, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.2f] },
        { "ease out", false, [.. new[] { 0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 6 }.Select(t => (float)(0.05 + (0.95 * t / 16.0)))] },
        // SDXL (SdxlTransformers; 11 in the ease formulas): style transfer is transformer 6, composition 3.
        { "style transfer", true, [.. Enumerable.Range(0, 70).Select(l => l is >= 34 and < 44 ? 1f : 0f)] },
        { "composition", true, [.. Enumerable.Range(0, 70).Select(l => l is >= 14 and < 24 ? 1f : 0f)] },
        { "ease in", true, [.. SdxlTransformers.Select(t => (float)(0.05 + (0.95 * (1 - (t / 11.0)))))] },
    };

    [Theory]
    [MemberData(nameof(Tables))]
    public async Task Weight_types_place_sd15_and_sdxl_layers_at_comfys_transformers(string type, bool sdxl, float[] expected)
    {
        // An adapter graph with SD 1.5's or SDXL's layer widths (each layer's keys a slice of the embedding) and an
        // encoder whose embedding is a slice of the pixels; the scales the image prompt gives at the first step are read.
        using var scratch = new TempFolder();
        var widths = sdxl ? Sdxl : Sd15;
        var g = new GraphBuilder("adapter");
        var embeds = g.Reshape(g.Input("image_embeds", TensorElementType.Float, "batch", 1280), 0, 1, 1280);
        for (var n = 0; n < widths.Length; n++)
        {
            g.Output(g.Slice(embeds, [0], [widths[n]], [2]), $"ip_key_{n}", TensorElementType.Float, "batch", 1, widths[n]);
            g.Output(g.Slice(embeds, [0], [widths[n]], [2]), $"ip_value_{n}", TensorElementType.Float, "batch", 1, widths[n]);
        }

        var adapter = Path.Combine(scratch.Path, "adapter.onnx");
        File.WriteAllBytes(adapter, g.Build("layers").ToBytes());
        var e = new GraphBuilder("encoder");
        var pixels = e.Input("pixel_values", TensorElementType.Float, "batch", 3, 32, 32);
        e.Output(e.Slice(e.Reshape(pixels, 0, 3 * 32 * 32), [0], [1280], [1]), "image_embeds", TensorElementType.Float, "batch", 1280);
        var encoder = Path.Combine(scratch.Path, "encoder.onnx");
        File.WriteAllBytes(encoder, e.Build("pixels").ToBytes());

        var yaml = $$"""
            flowdiffusion: 1
            name: ipadapter-layers
            nodes:
              model:
                node: model.load
                with: { path: "{{Path.Combine(Data, "ldm-fp16.safetensors")}}", tokenizer_folder: models/tiny-sd/tokenizer }
              tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a house } }
              positive: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens } }
              ipadapter: { node: ipadapter.load, with: { path: "{{adapter}}" } }
              encoder: { node: clip_vision.load, with: { path: "{{encoder}}" } }
              image: { node: image.load, with: { path: "{{Path.Combine(Folder, "image-a.png")}}" } }
              embeds: { node: clip_vision.encode, in: { clip_vision: encoder.clip_vision, image: image.image } }
              adapted:
                node: ipadapter.apply
                in: { conditioning: positive.conditioning, adapter: ipadapter.adapter, embeds: embeds.embeds }
                with: { weight: 1, weight_type: {{type}} }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var extras = Assert.IsType<Conditioning>(run.Result.Output("adapted", "result")).Extras;
        var scales = ScalesAt(extras, 999f, widths.Length);
        Assert.Equal(expected.Select(v => v.ToString("F5", CultureInfo.InvariantCulture)), scales.Select(v => v.ToString("F5", CultureInfo.InvariantCulture)));
    }

    // The image prompt's per-layer scales for one row at a timestep (the extra's type is the pack's own, read by reflection).
    private static float[] ScalesAt(Extras extras, float timestep, int layers)
    {
        var key = extras.Single(k => k.Name == "ipadapter.image_prompt");
        var type = key.GetType().GetGenericArguments()[0];
        var prompt = typeof(Extras).GetMethods().Single(m => m.Name == nameof(Extras.Get) && m.IsGenericMethodDefinition).MakeGenericMethod(type).Invoke(extras, [key])!;
        return (float[])type.GetMethod("Scales")!.Invoke(prompt, [timestep, 1, layers])!;
    }

    private static string Yaml(string parts) => $$"""
        flowdiffusion: 1
        name: ipadapter-pack
        nodes:
          model:
            node: model.load
            with: { path: "{{Path.Combine(Data, "ldm-fp16.safetensors")}}", tokenizer_folder: models/tiny-sd/tokenizer }
          tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a house } }
          positive: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens } }
          ipadapter: { node: ipadapter.load, with: { path: "{{Path.Combine(Folder, "ip-adapter.safetensors")}}" } }
          encoder: { node: clip_vision.load, with: { path: "{{Path.Combine(Folder, "clip-vision")}}" } }
          image_a: { node: image.load, with: { path: "{{Path.Combine(Folder, "image-a.png")}}" } }
        {{parts}}
        """;

    private static async Task<float[]> PredictAsync(IUNetModel unet, Extras extras)
    {
        var context = new Conditioning(1, 77, 64, Ref("e2e.encoder_hidden_states")).WithExtras(extras);
        var input = new DenoiserInput(Ref("e2e.sample"), new LatentShape(1, 4, 8, 8), Ref("e2e.timestep")[0], context);
        return await unet.PredictAsync(input, CancellationToken.None);
    }

    private static float[] Ref(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return file.ReadFloat32(name);
    }

    private static float[] Pack(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "pack-reference.safetensors"));
        return file.ReadFloat32(name);
    }

}
