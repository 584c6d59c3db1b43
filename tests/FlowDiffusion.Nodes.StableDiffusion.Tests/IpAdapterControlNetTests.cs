using System.Globalization;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// ipadapter.apply and controlnet.apply on one conditioning, through model.load and real ONNX Runtime sessions on the tiny
/// SD 1.x checkpoint, its tiny ControlNet and its tiny IP-Adapter: both act in the same UNet step (one graph variant takes
/// the residuals and the keys and values), against torch (tools/reference/make_ipadapter_controlnet.py), and the shipped
/// ipadapter-controlnet workflow.
/// </summary>
public sealed class IpAdapterControlNetTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private static readonly string Checkpoint = Path.Combine(Data, "ldm-fp16.safetensors");
    private static readonly string AdapterFolder = Path.Combine(Data, "ipadapter");
    private static readonly string ControlFolder = Path.Combine(Data, "controlnet");

    [Fact]
    public async Task An_image_prompt_and_ControlNets_in_one_step_match_torch_in_either_order()
    {
        var run = await RunAsync(
            Adapt("adapted", "positive.conditioning", 0.7f),
            Control("both", "adapted.result", "hint-a.png", 0.6f),
            Control("first", "adapted.result", "hint-a.png", 0.7f),
            Control("stacked", "first.result", "hint-b.png", 0.4f),
            Control("controlled", "positive.conditioning", "hint-a.png", 0.6f),
            Adapt("adapted_after", "controlled.result", 0.7f));
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));

        var both = await PredictAsync(unet, ExtrasOf(run, "both"));
        AssertClose(Ref("e2e.one"), both, 1e-4, "image a at 0.7 and hint a at 0.6");
        AssertClose(Ref("e2e.stacked"), await PredictAsync(unet, ExtrasOf(run, "stacked")), 1e-4, "image a at 0.7, hints a and b at 0.7 and 0.4");
        Assert.Equal(both.Values, (await PredictAsync(unet, ExtrasOf(run, "adapted_after"))).Values);
        // Each alone is a different prediction: neither the residuals nor the image prompt was dropped.
        AssertClose(Ref("e2e.controlled_only"), await PredictAsync(unet, ExtrasOf(run, "controlled")), 1e-4, "hint a alone");
        Assert.True(MaxDifference(Ref("e2e.one"), Ref("e2e.controlled_only")) > 0.1, "the image prompt must move the controlled prediction");
        Assert.True(MaxDifference(Ref("e2e.one"), AdapterRef("e2e.adapted")) > 0.1, "the ControlNet must move the adapted prediction");
    }

    [Fact]
    public async Task In_a_guided_batch_the_negative_gets_the_empty_image_tokens_and_no_ControlNet()
    {
        var run = await RunAsync(Adapt("adapted", "positive.conditioning", 0.7f), Control("both", "adapted.result", "hint-a.png", 0.6f));
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        var positive = Assert.IsType<Conditioning>(run.Result.Output("both", "result"));
        var negative = Assert.IsType<Conditioning>(run.Result.Output("positive", "conditioning"));

        // As guidance.cfg batches them: the negative's rows, then the positive's.
        var batched = Conditioning.Batched([new ConditioningRows(negative, 1), new ConditioningRows(positive, 1)]);
        var hidden = AdapterRef("e2e.encoder_hidden_states").Values;
        var context = new Conditioning(2, 77, 64, [.. hidden, .. hidden]).WithExtras(batched.Extras);
        var sample = AdapterRef("e2e.sample").Values;
        var rows = await unet.PredictAsync(new DenoiserInput(new[] { sample, sample }.SelectMany(v => v).ToArray(), new LatentShape(2, 4, 8, 8), AdapterRef("e2e.timestep").Values[0], context), CancellationToken.None);
        AssertClose(AdapterRef("e2e.uncond"), (rows[..256], [1, 4, 8, 8]), 1e-4, "the negative row: zero-embed tokens at 0.7, no residuals");
        AssertClose(Ref("e2e.one"), (rows[256..], [1, 4, 8, 8]), 1e-4, "the positive row");
    }

    [Fact]
    public async Task The_shipped_workflow_runs_on_the_tiny_models_and_zeroing_either_part_draws_what_the_other_workflow_draws()
    {
        var common = new Dictionary<string, object?>
        {
            ["model"] = Checkpoint, ["tokenizer_folder"] = "models/tiny-sd/tokenizer", ["width"] = "64", ["height"] = "64", ["steps"] = "3",
            ["seed"] = "5", ["cfg"] = "5", ["scheduler"] = "euler", ["prompt"] = "a house", ["negative"] = "",
        };
        var adapter = new Dictionary<string, object?>
        {
            ["clip_vision"] = Path.Combine(AdapterFolder, "clip-vision"), ["ipadapter"] = Path.Combine(AdapterFolder, "ip-adapter.safetensors"),
            ["image"] = Path.Combine(AdapterFolder, "image-a.png"), ["weight"] = "0.7",
        };
        var control = new Dictionary<string, object?>
        {
            ["controlnet"] = Path.Combine(ControlFolder, "control-ldm-fp16.safetensors"), ["control_image"] = Path.Combine(ControlFolder, "hint-a.png"), ["strength"] = "0.6",
        };
        var all = Merge(common, adapter, control);

        var both = (await SdEngine.Shared.RunFileAsync("ipadapter-controlnet.yaml", all)).AssertCompleted();
        var noImage = (await SdEngine.Shared.RunFileAsync("ipadapter-controlnet.yaml", Merge(all, new() { ["weight"] = "0" }))).AssertCompleted();
        var noControl = (await SdEngine.Shared.RunFileAsync("ipadapter-controlnet.yaml", Merge(all, new() { ["strength"] = "0" }))).AssertCompleted();
        var controlOnly = (await SdEngine.Shared.RunFileAsync("controlnet-txt2img.yaml", Merge(common, control))).AssertCompleted();
        var adapterOnly = (await SdEngine.Shared.RunFileAsync("ipadapter.yaml", Merge(common, adapter))).AssertCompleted();

        var image = both.Image();
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.All(image.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0 and <= 1, $"pixel {v}"));
        Assert.NotEmpty(both.Result.OutputFiles);
        Assert.Equal(controlOnly.Image().ToArray(), noImage.Image().ToArray());
        Assert.Equal(adapterOnly.Image().ToArray(), noControl.Image().ToArray());
        Assert.True(MaxDifference((image.ToArray(), []), (noImage.Image().ToArray(), [])) > 0.01, "the image prompt must change the image");
        Assert.True(MaxDifference((image.ToArray(), []), (noControl.Image().ToArray(), [])) > 0.01, "the ControlNet must change the image");
    }

    private static Dictionary<string, object?> Merge(params Dictionary<string, object?>[] parts)
    {
        var result = new Dictionary<string, object?>();
        foreach (var (key, value) in parts.SelectMany(p => p))
        {
            result[key] = value;
        }

        return result;
    }

    private static string F(float v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Adapt(string id, string conditioning, float weight) => $"""
              {id}:
                node: ipadapter.apply
                in: {"{"} conditioning: {conditioning}, adapter: ipadapter.adapter, embeds: embeds.embeds {"}"}
                with: {"{"} weight: {F(weight)} {"}"}

            """;

    private static string Control(string id, string conditioning, string hint, float strength) => $"""
              {id}_image:
                node: image.load
                with: {"{"} path: "{Path.Combine(ControlFolder, hint)}" {"}"}
              {id}:
                node: controlnet.apply
                in: {"{"} conditioning: {conditioning}, control_net: controlnet.control_net, image: {id}_image.image {"}"}
                with: {"{"} strength: {F(strength)} {"}"}

            """;

    private static string Yaml(params string[] parts) => $"""
        flowdiffusion: 1
        name: ipadapter-controlnet
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
          ipadapter:
            node: ipadapter.load
            with: {"{"} path: "{Path.Combine(AdapterFolder, "ip-adapter.safetensors")}" {"}"}
          reference:
            node: image.load
            with: {"{"} path: "{Path.Combine(AdapterFolder, "image-a.png")}" {"}"}
          encoder:
            node: clip_vision.load
            with: {"{"} path: "{Path.Combine(AdapterFolder, "clip-vision")}" {"}"}
          embeds:
            node: clip_vision.encode
            in: {"{"} clip_vision: encoder.clip_vision, image: reference.image {"}"}
          controlnet:
            node: controlnet.load
            with: {"{"} path: "{Path.Combine(ControlFolder, "control-ldm-fp16.safetensors")}" {"}"}

        """ + string.Concat(parts);

    private static async Task<SdRun> RunAsync(params string[] parts) =>
        (await SdEngine.Shared.RunYamlAsync(Yaml(parts), new Dictionary<string, object?>())).AssertCompleted();

    private static Extras ExtrasOf(SdRun run, string node) => Assert.IsType<Conditioning>(run.Result.Output(node, "result")).Extras;

    private static async Task<(float[] Values, long[] Shape)> PredictAsync(IUNetModel unet, Extras extras)
    {
        var context = new Conditioning(1, 77, 64, AdapterRef("e2e.encoder_hidden_states").Values).WithExtras(extras);
        var input = new DenoiserInput(AdapterRef("e2e.sample").Values, new LatentShape(1, 4, 8, 8), AdapterRef("e2e.timestep").Values[0], context);
        return (await unet.PredictAsync(input, CancellationToken.None), [1, 4, 8, 8]);
    }

    private static (float[] Values, long[] Shape) Ref(string name) => Read(Path.Combine(Data, "ipadapter-controlnet", "reference.safetensors"), name);

    private static (float[] Values, long[] Shape) AdapterRef(string name) => Read(Path.Combine(AdapterFolder, "reference.safetensors"), name);

    private static (float[] Values, long[] Shape) Read(string path, string name)
    {
        using var file = SafetensorsFile.Open(path);
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
