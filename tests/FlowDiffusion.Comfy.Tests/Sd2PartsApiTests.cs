using System.Text.Json.Nodes;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// SD 2.x through /prompt as ComfyUI users split it: the tiny SD 2.x checkpoint saved by CheckpointSave and its UNet by
/// ModelSave, then loaded by CheckpointLoaderSimple and by UNETLoader beside the original's CLIP and VAE, draw the
/// original's image pixel for pixel (the UNet read as v-prediction from the v_pred mark ModelSave writes; the weight test
/// for unmarked files is Sd2PartsTests').
/// </summary>
public sealed class Sd2PartsApiTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-sd2-parts-");

    public Sd2PartsApiTests() =>
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd2-tiny", "sd2-fp16.safetensors"), "checkpoints/sd2-tiny.safetensors");

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task An_sd2_checkpoint_saved_whole_and_its_unet_saved_alone_load_back_and_draw_the_originals_image()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        await UNetLoaderTests.RunAsync(host, new JsonObject
        {
            ["4"] = Node("CheckpointLoaderSimple", new JsonObject { ["ckpt_name"] = "sd2-tiny.safetensors" }),
            ["20"] = Node("CheckpointSave", new JsonObject { ["model"] = Link("4", 0), ["clip"] = Link("4", 1), ["vae"] = Link("4", 2), ["filename_prefix"] = "checkpoints/whole" }),
            ["21"] = Node("ModelSave", new JsonObject { ["model"] = Link("4", 0), ["filename_prefix"] = "diffusion_models/unet" }),
        });
        var saved = Directory.GetFiles(Path.Combine(host.Root, "outputs"), "*.safetensors", SearchOption.AllDirectories);
        _home.Add(Assert.Single(saved, f => Path.GetFileName(f).StartsWith("whole_", StringComparison.Ordinal)), "checkpoints/sd2-saved.safetensors");
        _home.Add(Assert.Single(saved, f => Path.GetFileName(f).StartsWith("unet_", StringComparison.Ordinal)), "unet/sd2-unet.safetensors");

        var original = UNetLoaderTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Txt2Img(model: "sd2-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5)));
        var whole = UNetLoaderTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Txt2Img(model: "sd2-saved.safetensors", text: "a red circle", steps: 2, cfg: 5)));
        var prompt = Txt2Img(model: "sd2-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        prompt["30"] = Node("UNETLoader", new JsonObject { ["unet_name"] = "sd2-unet.safetensors", ["weight_dtype"] = "default" });
        prompt["3"]!["inputs"]!["model"] = Link("30", 0);
        var parts = UNetLoaderTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));
        Assert.Equal(original, whole);
        Assert.Equal(original, parts);

        // The same UNet read as epsilon draws another image: the v-prediction above came from the file's mark.
        var epsilon = Txt2Img(model: "sd2-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        epsilon["31"] = Node("ModelSamplingDiscrete", new JsonObject { ["model"] = Link("30", 0), ["sampling"] = "eps", ["zsnr"] = false });
        epsilon["30"] = prompt["30"]!.DeepClone();
        epsilon["3"]!["inputs"]!["model"] = Link("31", 0);
        Assert.NotEqual(original, UNetLoaderTests.Pixels(await ClassMappingTests.RunForImageAsync(host, epsilon)));
    }
}
