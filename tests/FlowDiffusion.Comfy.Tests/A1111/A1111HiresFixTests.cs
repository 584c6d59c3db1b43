using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Tests.A1111;

public sealed class A1111HiresFixTests
{
    [Fact]
    public async Task Hires_fix_equals_the_ComfyUI_prompt_with_LatentUpscale_and_a_second_KSamplerAdvanced()
    {
        await using var host = await ComfyHost.StartAsync();
        var answer = await A1111Client.GenerateAsync(host, "txt2img", new JsonObject
        {
            ["prompt"] = "a cat", ["steps"] = 4, ["cfg_scale"] = 3, ["width"] = 64, ["height"] = 64, ["seed"] = 21, ["sampler_name"] = "Euler",
            ["enable_hr"] = true, ["hr_scale"] = 1.5, ["hr_upscaler"] = "Latent (bicubic)", ["hr_second_pass_steps"] = 6, ["denoising_strength"] = 0.5,
            ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "tiny-sd" },
        });
        var png = A1111Client.Png(answer);
        Assert.Equal((96, 96), (Images.Mean(png).Width, Images.Mean(png).Height));

        // The second pass: 6 steps, from step 6 − int(6 × 0.5) − 1 = 2, fresh noise from the seed at 96×96.
        var comfy = Prompts.Txt2Img(model: "tiny-sd", text: "a cat", steps: 4, cfg: 3, seed: 21);
        comfy["20"] = Prompts.Node("LatentUpscale", new JsonObject
        {
            ["samples"] = Prompts.Link("3", 0), ["upscale_method"] = "bicubic", ["width"] = 96, ["height"] = 96, ["crop"] = "disabled",
        });
        comfy["21"] = Prompts.Node("KSamplerAdvanced", new JsonObject
        {
            ["model"] = Prompts.Link("4", 0), ["positive"] = Prompts.Link("6", 0), ["negative"] = Prompts.Link("7", 0), ["latent_image"] = Prompts.Link("20", 0),
            ["add_noise"] = "enable", ["noise_seed"] = 21, ["steps"] = 6, ["cfg"] = 3, ["sampler_name"] = "euler", ["scheduler"] = "normal",
            ["start_at_step"] = 2, ["end_at_step"] = 10000, ["return_with_leftover_noise"] = "disable",
        });
        comfy["8"]!["inputs"]!["samples"] = Prompts.Link("21", 0);
        var pixels = A1111Client.Pixels(png);
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, comfy), pixels);
        comfy["20"]!["inputs"]!["upscale_method"] = "bilinear";
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, comfy), pixels);

        var info = A1111Client.Info(answer);
        Assert.Equal(64, info["width"]!.GetValue<int>());
        Assert.Equal(0.5, info["denoising_strength"]!.GetValue<double>());
        Assert.EndsWith("Size: 64x64, Model: tiny-sd, Denoising strength: 0.5, Hires upscale: 1.5, Hires steps: 6, Hires upscaler: Latent (bicubic), Version: FlowDiffusion",
            info["infotexts"]![0]!.GetValue<string>());
    }

    [Theory]
    [InlineData("hr_upscaler", "\"Latent (antialiased)\"", "antialiased")]
    [InlineData("hr_upscaler", "\"Latent (nearest)\"", "latent upscalers")]
    [InlineData("hr_scale", "1.3", "multiples of 8")]
    [InlineData("hr_resize_x", "128", "both")]
    [InlineData("hr_sampler_name", "\"DDIM\"", "first pass")]
    [InlineData("hr_prompt", "\"a dog\"", "hires prompt")]
    [InlineData("hr_checkpoint_name", "\"tiny-sd\"", "first pass")]
    public async Task Hires_fields_it_does_not_follow_are_refused_by_name(string field, string value, string message)
    {
        await using var host = await ComfyHost.StartAsync();
        var (status, body) = await A1111Client.PostAsync(host, "txt2img", new JsonObject
        {
            ["prompt"] = "a cat", ["steps"] = 2, ["width"] = 64, ["height"] = 64, ["enable_hr"] = true, [field] = JsonNode.Parse(value),
        });
        Assert.Equal(422, status);
        Assert.Equal(field, body["field"]!.GetValue<string>());
        Assert.Contains(message, body["detail"]!.GetValue<string>());
    }
}
