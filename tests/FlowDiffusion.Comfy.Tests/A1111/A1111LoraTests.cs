using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Tests.A1111;

public sealed class A1111LoraTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-a1111-lora-");

    public A1111LoraTests()
    {
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "lora", "kohya-a.safetensors"), "loras/kohya-a.safetensors");
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Lora_tags_in_the_prompt_run_as_LoraLoaders_with_A1111s_multipliers()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        Assert.Equal("kohya-a", (await A1111Client.GetAsync(host, "loras"))[0]!["name"]!.GetValue<string>());
        async Task<(byte[] Pixels, JsonNode Info)> A1111(string prompt)
        {
            var answer = await A1111Client.GenerateAsync(host, "txt2img", new JsonObject
            {
                ["prompt"] = prompt, ["steps"] = 2, ["cfg_scale"] = 4, ["width"] = 64, ["height"] = 64, ["seed"] = 9,
                ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "sd1-tiny" },
            });
            return (A1111Client.Pixels(A1111Client.Png(answer)), A1111Client.Info(answer));
        }

        Task<byte[]> Comfy(double model, double clip)
        {
            var prompt = Prompts.Txt2Img(model: "sd1-tiny.safetensors", text: "a cat ", steps: 2, cfg: 4, seed: 9);
            prompt["10"] = Prompts.Node("LoraLoader", new JsonObject
            {
                ["model"] = Prompts.Link("4", 0), ["clip"] = Prompts.Link("4", 1), ["lora_name"] = "kohya-a.safetensors", ["strength_model"] = model, ["strength_clip"] = clip,
            });
            prompt["3"]!["inputs"]!["model"] = Prompts.Link("10", 0);
            prompt["6"]!["inputs"]!["clip"] = Prompts.Link("10", 1);
            prompt["7"]!["inputs"]!["clip"] = Prompts.Link("10", 1);
            return A1111Client.ComfyPixelsAsync(host, prompt);
        }

        var (one, info) = await A1111("a cat <lora:kohya-a:0.8>");
        Assert.Equal(await Comfy(0.8, 0.8), one);
        Assert.NotEqual(await Comfy(0.4, 0.8), one);
        // The infotext keeps the prompt as written, as A1111's does.
        Assert.StartsWith("a cat <lora:kohya-a:0.8>\n", info["infotexts"]![0]!.GetValue<string>());
        Assert.Equal(await Comfy(1.5, 0.5), (await A1111("a cat <lora:kohya-a:0.5:1.5>")).Pixels);
        Assert.Equal(await Comfy(0.7, 1), (await A1111("a cat <lora:kohya-a:unet=0.7>")).Pixels);
    }
}
