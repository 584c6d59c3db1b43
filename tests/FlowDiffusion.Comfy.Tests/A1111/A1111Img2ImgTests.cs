using System.Text.Json.Nodes;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests.A1111;

public sealed class A1111Img2ImgTests
{
    [Fact]
    public async Task Img2img_at_denoise_below_1_equals_the_ComfyUI_prompt_that_starts_at_A1111s_step()
    {
        await using var host = await ComfyHost.StartAsync();
        var init = Images.SolidPng(64, 64, new SKColor(200, 40, 40), lowerHalf: new SKColor(30, 30, 220));
        var answer = await A1111Client.GenerateAsync(host, "img2img", new JsonObject
        {
            ["init_images"] = new JsonArray("data:image/png;base64," + Convert.ToBase64String(init)),
            ["prompt"] = "a green ball", ["steps"] = 10, ["denoising_strength"] = 0.45, ["cfg_scale"] = 1, ["width"] = 64, ["height"] = 64,
            ["seed"] = 11, ["sampler_name"] = "Euler", ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "tiny-sd" },
        });

        // The same image uploaded as a ComfyUI client would, then LoadImage → VAEEncode → KSamplerAdvanced from step
        // 10 − int(10 × 0.45) − 1 = 5 of a 10-step schedule (A1111 runs int(steps × strength) + 1 steps).
        using (var form = new MultipartFormDataContent())
        {
            form.Add(new ByteArrayContent(init), "image", "init.png");
            (await host.Client.PostAsync("/upload/image", form)).EnsureSuccessStatusCode();
        }

        var comfy = Prompts.Parse("""
            {
              "4": { "class_type": "CheckpointLoaderSimple", "inputs": { "ckpt_name": "tiny-sd" } },
              "6": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "a green ball" } },
              "7": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "" } },
              "10": { "class_type": "LoadImage", "inputs": { "image": "init.png" } },
              "11": { "class_type": "VAEEncode", "inputs": { "pixels": ["10", 0], "vae": ["4", 2] } },
              "3": { "class_type": "KSamplerAdvanced", "inputs": { "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["11", 0],
                     "add_noise": "enable", "noise_seed": 11, "steps": 10, "cfg": 1, "sampler_name": "euler", "scheduler": "normal",
                     "start_at_step": 5, "end_at_step": 10000, "return_with_leftover_noise": "disable" } },
              "8": { "class_type": "VAEDecode", "inputs": { "samples": ["3", 0], "vae": ["4", 2] } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["8", 0], "filename_prefix": "ComfyUI" } }
            }
            """);
        var pixels = A1111Client.Pixels(A1111Client.Png(answer));
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, comfy), pixels);
        comfy["3"]!["inputs"]!["start_at_step"] = 4;
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, comfy), pixels);

        var info = A1111Client.Info(answer);
        Assert.Equal(0.45, info["denoising_strength"]!.GetValue<double>());
        Assert.Contains("Denoising strength: 0.45", info["infotexts"]![0]!.GetValue<string>());
        Assert.Null(answer["parameters"]!["init_images"]);
    }

    [Fact]
    public async Task Bad_init_images_are_refused_by_name()
    {
        await using var host = await ComfyHost.StartAsync();
        var png = Convert.ToBase64String(Images.SolidPng(64, 64, SKColors.Red));
        async Task Refused(JsonObject body, string field, string message)
        {
            body["steps"] = 4;
            var (status, answer) = await A1111Client.PostAsync(host, "img2img", body);
            Assert.Equal(422, status);
            Assert.Equal(field, answer["field"]!.GetValue<string>());
            Assert.Contains(message, answer["detail"]!.GetValue<string>());
        }

        await Refused(new JsonObject(), "init_images", "one base64 image");
        await Refused(new JsonObject { ["init_images"] = new JsonArray("not base64!") }, "init_images[0]", "base64");
        await Refused(new JsonObject { ["init_images"] = new JsonArray(Convert.ToBase64String("hello"u8.ToArray())) }, "init_images[0]", "cannot be read");
        await Refused(new JsonObject { ["init_images"] = new JsonArray(png, png) }, "init_images", "one init image");
        await Refused(new JsonObject { ["init_images"] = new JsonArray(Convert.ToBase64String(Images.SolidPng(64, 64, new SKColor(255, 0, 0, 128)))) }, "init_images[0]", "transparent");
        await Refused(new JsonObject { ["init_images"] = new JsonArray(png), ["denoising_strength"] = 0.1 }, "denoising_strength", "no step");
    }
}
