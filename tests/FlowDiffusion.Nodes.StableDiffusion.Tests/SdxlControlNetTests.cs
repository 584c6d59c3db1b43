using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

using static FlowDiffusion.Nodes.StableDiffusion.Tests.SdxlControlReference;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// controlnet.load and controlnet.apply on the tiny SDXL checkpoint and its tiny SDXL ControlNet (diffusers layout), through
/// model.load and real ONNX Runtime sessions, against torch (tools/reference/make_sdxl_controlnet.py: the ControlNet's encoder
/// takes the same text_embeds and time_ids as the UNet), and the shipped sdxl-controlnet workflow.
/// </summary>
public sealed class SdxlControlNetTests
{
    private static readonly string Checkpoint = SdxlControlReference.Checkpoint;
    private static readonly string ControlFolder = SdxlControlReference.ControlFolder;
    private static readonly string Diffusers = Path.Combine(ControlFolder, "diffusers");

    [Fact]
    public async Task The_Sdxl_UNet_with_an_applied_Sdxl_ControlNet_matches_torch()
    {
        var run = await RunAsync(Diffusers, 0.6f);
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));

        AssertClose(Ref("e2e.plain"), await PredictAsync(unet, Extras.Empty), 1e-4, "without ControlNet");
        var controlled = await PredictAsync(unet, ExtrasOf(run));
        AssertClose(Ref("e2e.controlled"), controlled, 1e-4, "SDXL ControlNet at 0.6");
        Assert.True(controlled.Zip(Ref("e2e.plain").Values).Max(p => Math.Abs(p.First - p.Second)) > 0.1, "the ControlNet must move the prediction");
    }

    [Fact]
    public async Task An_SD1_ControlNet_on_an_Sdxl_model_fails_naming_the_mismatch()
    {
        var sd1 = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny", "controlnet", "control-ldm-fp16.safetensors");
        var run = await RunAsync(sd1, 0.6f);
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        var error = await Assert.ThrowsAsync<ArgumentException>(() => PredictAsync(unet, ExtrasOf(run)));
        Assert.Contains("SD 1.x ControlNet", error.Message);
        Assert.Contains("SDXL", error.Message);
    }

    [Fact]
    public async Task The_shipped_workflow_runs_on_the_tiny_checkpoints_and_strength_zero_draws_what_sdxl_txt2img_draws()
    {
        var common = new Dictionary<string, object?>
        {
            ["model"] = Checkpoint, ["tokenizer_folder"] = "models/tiny-sd/tokenizer", ["width"] = "64", ["height"] = "64", ["steps"] = "3",
            ["seed"] = "5", ["cfg"] = "5", ["scheduler"] = "euler", ["prompt"] = "a house", ["negative"] = "",
        };
        var control = new Dictionary<string, object?>(common) { ["controlnet"] = Diffusers, ["strength"] = "1" };
        var controlled = (await SdEngine.Shared.RunFileAsync("sdxl-controlnet.yaml", control)).AssertCompleted();
        var zero = (await SdEngine.Shared.RunFileAsync("sdxl-controlnet.yaml", new Dictionary<string, object?>(control) { ["strength"] = "0" })).AssertCompleted();
        var plain = (await SdEngine.Shared.RunFileAsync("sdxl-txt2img.yaml", common)).AssertCompleted();

        var image = controlled.Image();
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.All(image.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0 and <= 1, $"pixel {v}"));
        Assert.NotEmpty(controlled.Result.OutputFiles);
        Assert.Equal(plain.Image().ToArray(), zero.Image().ToArray());
        Assert.True(image.ToArray().Zip(zero.Image().ToArray()).Max(p => Math.Abs(p.First - p.Second)) > 0.01, "strength 1 must change the image");
    }

    private static async Task<SdRun> RunAsync(string controlnet, float strength)
    {
        var yaml = $"""
            flowdiffusion: 1
            name: sdxl-controlnet-test
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
              controlnet:
                node: controlnet.load
                with: {"{"} path: "{controlnet}" {"}"}
              hint:
                node: image.load
                with: {"{"} path: "{Path.Combine(ControlFolder, "hint-a.png")}" {"}"}
              controlled:
                node: controlnet.apply
                in: {"{"} conditioning: positive.conditioning, control_net: controlnet.control_net, image: hint.image {"}"}
                with: {"{"} strength: {strength.ToString(System.Globalization.CultureInfo.InvariantCulture)} {"}"}
            """;
        return (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
    }

    private static (float[] Values, long[] Shape) Ref(string name) => Input(name);
}
