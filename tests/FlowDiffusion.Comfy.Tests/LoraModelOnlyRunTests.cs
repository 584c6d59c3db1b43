using System.Text.Json.Nodes;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// LoraLoaderModelOnly on a single-file SD 1.x checkpoint through the ComfyUI layer: it changes the UNet exactly as a
/// LoraLoader with the text encoder's strength at 0 does, and leaves the prompts' encodings alone.
/// </summary>
public sealed class LoraModelOnlyRunTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-comfy-lora-");

    public LoraModelOnlyRunTests()
    {
        // The tiny SD 1.x checkpoint and a kohya LoRA with UNet and text-encoder keys.
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "lora", "kohya-a.safetensors"), "loras/kohya-a.safetensors");
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Lora_loader_model_only_gives_the_image_of_a_lora_loader_with_clip_strength_zero()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/LoraLoaderModelOnly"))!["LoraLoaderModelOnly"]!;
        Assert.Contains("kohya-a.safetensors", info["input"]!["required"]!["lora_name"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["MODEL"], info["output"]!.AsArray().Select(n => n!.GetValue<string>()));

        var modelOnly = Prompt();
        modelOnly["10"] = new JsonObject { ["class_type"] = "LoraLoaderModelOnly", ["inputs"] = new JsonObject
        {
            ["model"] = Link("4", 0), ["lora_name"] = "kohya-a.safetensors", ["strength_model"] = 0.9,
        } };
        modelOnly["3"]!["inputs"]!["model"] = Link("10", 0);
        var clipAtZero = Prompt();
        clipAtZero["10"] = new JsonObject { ["class_type"] = "LoraLoader", ["inputs"] = new JsonObject
        {
            ["model"] = Link("4", 0), ["clip"] = Link("4", 1), ["lora_name"] = "kohya-a.safetensors", ["strength_model"] = 0.9, ["strength_clip"] = 0,
        } };
        clipAtZero["3"]!["inputs"]!["model"] = Link("10", 0);
        clipAtZero["6"]!["inputs"]!["clip"] = Link("10", 1);
        clipAtZero["7"]!["inputs"]!["clip"] = Link("10", 1);

        var withModelOnly = Pixels(await ClassMappingTests.RunForImageAsync(host, modelOnly));
        var withClipAtZero = Pixels(await ClassMappingTests.RunForImageAsync(host, clipAtZero));
        var without = Pixels(await ClassMappingTests.RunForImageAsync(host, Prompt()));

        Assert.Equal(withClipAtZero, withModelOnly);
        // The LoRA did change the UNet: the image differs from the checkpoint's own in many pixels.
        var differing = without.Zip(withModelOnly).Count(p => p.First != p.Second);
        Assert.True(differing > without.Length / 10, $"{differing} of {without.Length} channel values differ from the image without the LoRA");
    }

    private static JsonObject Prompt() => Prompts.Txt2Img(model: "sd1-tiny.safetensors", text: "a red circle", steps: 2, cfg: 5);

    private static byte[] Pixels(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png);
        return bitmap.Bytes;
    }
}
