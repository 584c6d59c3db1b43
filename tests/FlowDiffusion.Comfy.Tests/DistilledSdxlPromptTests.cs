using System.Text.Json.Nodes;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// The distilled SDXL UNets ComfyUI loads as SDXL, through /prompt as a user's workflow reaches them: an SSD-1B-shaped
/// checkpoint (decoder depths of its own, a lone middle residual block) by CheckpointLoaderSimple, and a Segmind-Vega-shaped
/// UNet file in diffusers' names by UNETLoader beside that checkpoint's CLIP and VAE, each drawing an image with SDXL's
/// conditioning; PerturbedAttentionGuidance and SelfAttentionGuidance, which need the middle block's attention, fail naming why.
/// </summary>
public sealed class DistilledSdxlPromptTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-distilled-");

    public DistilledSdxlPromptTests()
    {
        var data = Path.Combine(CheckpointHome.TestData, "sdxl-distilled-tiny");
        _home.Add(Path.Combine(data, "ssd1b-fp16.safetensors"), "checkpoints/ssd1b-tiny.safetensors");
        _home.Add(Path.Combine(data, "vega-unet.safetensors"), "diffusion_models/vega-tiny.safetensors");
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Ssd1b_checkpoint_and_vega_unet_draw_images_through_the_comfyui_loaders()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        Assert.Contains("ssd1b-tiny.safetensors", JsonNode.Parse(await host.Client.GetStringAsync("/models/checkpoints"))!.AsArray().Select(n => n!.GetValue<string>()));

        var ssd = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Txt2Img(model: "ssd1b-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5)));
        AssertDrawn(ssd);

        var prompt = Txt2Img(model: "ssd1b-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        prompt["30"] = Node("UNETLoader", new JsonObject { ["unet_name"] = "vega-tiny.safetensors", ["weight_dtype"] = "default" });
        prompt["3"]!["inputs"]!["model"] = Link("30", 0);
        var vega = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));
        AssertDrawn(vega);
        Assert.NotEqual(ssd, vega);
    }

    [Theory]
    [InlineData("PerturbedAttentionGuidance", "no middle-block attention for PAG to perturb")]
    [InlineData("SelfAttentionGuidance", "no middle-block attention for SAG to map")]
    public async Task Middle_attention_guidance_on_a_unet_without_middle_attention_fails_naming_why(string classType, string why)
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var prompt = Txt2Img(model: "ssd1b-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);
        prompt["20"] = Node(classType, classType == "PerturbedAttentionGuidance"
            ? new JsonObject { ["model"] = Link("4", 0), ["scale"] = 3 }
            : new JsonObject { ["model"] = Link("4", 0), ["scale"] = 0.5, ["blur_sigma"] = 2 });
        prompt["3"]!["inputs"]!["model"] = Link("20", 0);
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(200, status);
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>(), TimeSpan.FromSeconds(180));
        Assert.Equal("error", history["status"]!["status_str"]!.GetValue<string>());
        Assert.Contains(why, history.ToJsonString());
    }

    // An image, not a blank: finite means and more than one colour.
    private static void AssertDrawn(byte[] pixels)
    {
        Assert.True(pixels.Distinct().Count() > 1, "a uniform image");
        var mean = pixels.Average(p => (double)p);
        Assert.True(double.IsFinite(mean) && mean > 0 && mean < 255, $"mean {mean}");
    }
}
