using FlowDiffusion.Formats.Safetensors;
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
