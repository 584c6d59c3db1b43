using System.Text.Json.Nodes;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// An SDXL checkpoint dropped into models/checkpoints, through the ComfyUI layer: listed by object_info and /models, and a
/// prompt whose CLIPTextEncodeSDXL gives text_g and text_l different prompts (needing different window counts) runs,
/// with a LoraLoader, to an image.
/// </summary>
public sealed class SdxlPromptRunTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-sdxl-");

    public SdxlPromptRunTests()
    {
        // The tiny SDXL checkpoint and an SDXL LoRA.
        _home.Add(Path.Combine(CheckpointHome.TestData, "sdxl-tiny", "sdxl-fp16.safetensors"), "checkpoints/sdxl-tiny.safetensors");
        _home.Add(Path.Combine(CheckpointHome.TestData, "sdxl-tiny", "lora", "kohya-a.safetensors"), "loras/sdxl-a.safetensors");
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Sdxl_checkpoint_is_listed_and_a_prompt_with_different_text_g_and_text_l_runs_with_a_lora()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/CheckpointLoaderSimple"))!;
        Assert.Contains("sdxl-tiny.safetensors", info["CheckpointLoaderSimple"]!["input"]!["required"]!["ckpt_name"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Contains("sdxl-tiny.safetensors", JsonNode.Parse(await host.Client.GetStringAsync("/models/checkpoints"))!.AsArray().Select(n => n!.GetValue<string>()));

        var prompt = Prompts.Txt2Img(model: "sdxl-tiny.safetensors", steps: 2, cfg: 5);
        prompt["10"] = new JsonObject { ["class_type"] = "LoraLoader", ["inputs"] = new JsonObject
        {
            ["model"] = Link("4", 0), ["clip"] = Link("4", 1), ["lora_name"] = "sdxl-a.safetensors", ["strength_model"] = 0.8, ["strength_clip"] = 0.6,
        } };
        prompt["3"]!["inputs"]!["model"] = Link("10", 0);
        // text_l needs one 77-token window, text_g two: clip.encode pads text_l with an empty-prompt window.
        prompt["6"] = Sdxl("a red circle BREAK blue square", "green");
        prompt["7"] = Sdxl("", "");
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.True(status == 200, body.ToJsonString());

        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>(), TimeSpan.FromSeconds(180));
        Assert.True(history["status"]!["status_str"]!.GetValue<string>() == "success", history.ToJsonString());
        var image = history["outputs"]!["9"]!["images"]![0]!;
        var png = await host.Client.GetByteArrayAsync($"/view?filename={image["filename"]}&subfolder={image["subfolder"]}&type=output");
        var (r, g, b, width, height) = Images.Mean(png);
        Assert.Equal((64, 64), (width, height));
        Assert.True(double.IsFinite(r + g + b), $"({r}, {g}, {b})");
    }

    private static JsonObject Sdxl(string textG, string textL) => new()
    {
        ["class_type"] = "CLIPTextEncodeSDXL",
        ["inputs"] = new JsonObject
        {
            ["clip"] = Link("10", 1), ["width"] = 1024, ["height"] = 1024, ["crop_w"] = 0, ["crop_h"] = 0, ["target_width"] = 64, ["target_height"] = 64,
            ["text_g"] = textG, ["text_l"] = textL,
        },
    };
}
