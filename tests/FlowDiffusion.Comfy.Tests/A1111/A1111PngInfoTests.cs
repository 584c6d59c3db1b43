using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;

namespace FlowDiffusion.Comfy.Tests.A1111;

public sealed class A1111PngInfoTests
{
    [Fact]
    public async Task Png_info_reads_back_the_infotext_txt2img_writes_as_the_values_of_the_request()
    {
        await using var host = await ComfyHost.StartAsync();
        var answer = await A1111Client.GenerateAsync(host, "txt2img", new JsonObject
        {
            ["prompt"] = "a (cat:1.2), dog", ["negative_prompt"] = "blurry, ugly", ["steps"] = 3, ["cfg_scale"] = 4.5, ["width"] = 64, ["height"] = 72,
            ["seed"] = 77, ["sampler_name"] = "DPM++ 2M", ["scheduler"] = "Karras",
            ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "tiny-sd" },
        });
        var (status, info) = await A1111Client.PostAsync(host, "png-info", new JsonObject { ["image"] = "data:image/png;base64," + answer["images"]![0]!.GetValue<string>() });
        Assert.True(status == 200, info.ToJsonString());
        Assert.Equal(A1111Client.Info(answer)["infotexts"]![0]!.GetValue<string>(), info["info"]!.GetValue<string>());
        var p = info["parameters"]!;
        string S(string key) => p[key]!.GetValue<string>();
        Assert.Equal("a (cat:1.2), dog", S("Prompt"));
        Assert.Equal("blurry, ugly", S("Negative prompt"));
        Assert.Equal(3, int.Parse(S("Steps"), CultureInfo.InvariantCulture));
        Assert.Equal("DPM++ 2M", S("Sampler"));
        Assert.Equal("Karras", S("Schedule type"));
        Assert.Equal(4.5, double.Parse(S("CFG scale"), CultureInfo.InvariantCulture));
        Assert.Equal(77, long.Parse(S("Seed"), CultureInfo.InvariantCulture));
        Assert.Equal(("64", "72"), (S("Size-1"), S("Size-2")));
        Assert.Equal("tiny-sd", S("Model"));
        Assert.Equal("1", S("Clip skip")); // A1111 writes none for 1 and reads its absence as 1
        Assert.Equal("Original", S("Emphasis")); // (cat:1.2) weighs the prompt
        Assert.Equal("FlowDiffusion", S("Version"));
        Assert.Null(p["Downcast alphas_cumprod"]); // not an A1111 version: no backward compatibility
        Assert.Equal(0, p["Hires resize-1"]!.GetValue<int>());
        Assert.Equal(32, p["Masked area padding"]!.GetValue<int>());
        Assert.False(p["Refiner switch by sampling steps"]!.GetValue<bool>());
        Assert.False(info["items"]!.AsObject().ContainsKey("parameters"));

        // An image without text, and none at all.
        (status, info) = await A1111Client.PostAsync(host, "png-info", new JsonObject { ["image"] = Convert.ToBase64String(A1111UpscalerTests.Pattern(8, 8)) });
        Assert.Equal(200, status);
        Assert.Equal("", info["info"]!.GetValue<string>());
        Assert.Equal("", info["parameters"]!["Prompt"]!.GetValue<string>());
        (status, info) = await A1111Client.PostAsync(host, "png-info", new JsonObject { ["image"] = " " });
        Assert.Equal(200, status);
        Assert.Empty(info["parameters"]!.AsObject());
    }

    [Fact]
    public void An_A1111_infotext_parses_as_A1111_parses_it()
    {
        var p = A1111PngInfo.Parse("""
            masterpiece, (best:1.0) \(quality\)
            BREAK second line
            Negative prompt: bad
            hands
            Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x768, Lora hashes: "a: 1b2c, b: 3d4e", Note: "say \"hi\", then\nbye", Hires upscale: 2, Hires resize: 1024x1536, Empty: , Version: v1.7.0
            """);
        Assert.Equal("masterpiece, (best:1.0) \\(quality\\)\nBREAK second line", p["Prompt"]!.GetValue<string>());
        Assert.Equal("bad\nhands", p["Negative prompt"]!.GetValue<string>());
        Assert.Equal("Euler a", p["Sampler"]!.GetValue<string>());
        Assert.Equal(("512", "768"), (p["Size-1"]!.GetValue<string>(), p["Size-2"]!.GetValue<string>()));
        Assert.Equal(("1024", "1536"), (p["Hires resize-1"]!.GetValue<string>(), p["Hires resize-2"]!.GetValue<string>()));
        Assert.Equal("a: 1b2c, b: 3d4e", p["Lora hashes"]!.GetValue<string>());
        Assert.Equal("2", p["Hires upscale"]!.GetValue<string>());
        Assert.Equal("say \"hi\", then\nbye", p["Note"]!.GetValue<string>()); // a quoted value is a JSON string
        Assert.Null(p["Empty"]); // A1111 fails on an empty value and leaves it out
        Assert.Null(p["Emphasis"]); // weight 1.0 and escaped brackets weigh nothing
        Assert.Equal("1", p["Clip skip"]!.GetValue<string>());
        Assert.Equal("Automatic", p["Schedule type"]!.GetValue<string>());
        Assert.Equal("GPU", p["RNG"]!.GetValue<string>());
        Assert.True(p["Downcast alphas_cumprod"]!.GetValue<bool>()); // made before v1.7.0-225
        Assert.Null(p["Old prompt editing timelines"]); // no [ in the prompt
        Assert.Equal(
            ["Steps", "Sampler", "CFG scale", "Seed", "Size-1", "Size-2", "Lora hashes", "Note", "Hires upscale", "Hires resize-1", "Hires resize-2", "Version", "Prompt", "Negative prompt", "Clip skip"],
            p.Select(e => e.Key).Take(15));

        // Fewer than three pairs on the last line: it is prompt text.
        var plain = A1111PngInfo.Parse("just a prompt\nSteps: 5, Seed: 3");
        Assert.Equal("just a prompt\nSteps: 5, Seed: 3", plain["Prompt"]!.GetValue<string>());
        Assert.Null(plain["Steps"]);

        // [ ] lowers a weight, an unclosed ( raises the rest; newer versions need no compatibility keys.
        var weighted = A1111PngInfo.Parse("[a|b] cat\nSteps: 5, Seed: 3, Version: v1.10.1");
        Assert.Equal("Original", weighted["Emphasis"]!.GetValue<string>());
        Assert.Null(weighted["Downcast alphas_cumprod"]);
        Assert.Equal("Original", A1111PngInfo.Parse("(cat\nSteps: 5, Seed: 3, CFG scale: 2")["Emphasis"]!.GetValue<string>());
        Assert.True(A1111PngInfo.Parse("[a:b:3]\nSteps: 5, Seed: 3, Version: v1.5.2")["Old prompt editing timelines"]!.GetValue<bool>());
    }
}
