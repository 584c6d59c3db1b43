using System.Text;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Tests.A1111;

public sealed class A1111Txt2ImgTests
{
    [Fact]
    public async Task Txt2img_gives_the_image_of_the_equivalent_ComfyUI_prompt_pixel_for_pixel()
    {
        await using var host = await ComfyHost.StartAsync();
        var answer = await A1111Client.GenerateAsync(host, "txt2img", new JsonObject
        {
            ["prompt"] = "a blue ball", ["negative_prompt"] = "a red ball", ["steps"] = 5, ["cfg_scale"] = 0.5, ["width"] = 64, ["height"] = 72,
            ["seed"] = 42, ["sampler_name"] = "DPM++ 2M", ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "analytic-sd" },
        });
        // DPM++ 2M's Automatic schedule is Karras (A1111 1.9's sampler option).
        var comfy = Prompts.Txt2Img(sampler: "dpmpp_2m", scheduler: "karras", cfg: 0.5, seed: 42, steps: 5);
        comfy["5"]!["inputs"]!["height"] = 72;
        comfy["7"]!["inputs"]!["text"] = "a red ball";
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, comfy), A1111Client.Pixels(A1111Client.Png(answer)));

        // analytic-sd draws u + cfg·(c − u): half blue, half red here. With the negative prompt left out, or at another CFG
        // scale, the image differs: the comparison sees both fields.
        var (r, _, b, _, _) = Images.Mean(A1111Client.Png(answer));
        Assert.True(Math.Abs(r - 0.5) < 0.02 && Math.Abs(b - 0.5) < 0.02, $"({r:F3}, {b:F3})");
        comfy["7"]!["inputs"]!["text"] = "";
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, comfy), A1111Client.Pixels(A1111Client.Png(answer)));
        comfy["7"]!["inputs"]!["text"] = "a red ball";
        comfy["3"]!["inputs"]!["cfg"] = 0.75;
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, comfy), A1111Client.Pixels(A1111Client.Png(answer)));

        var info = A1111Client.Info(answer);
        Assert.Equal(42, info["seed"]!.GetValue<long>());
        Assert.Equal([42L], info["all_seeds"]!.AsArray().Select(s => s!.GetValue<long>()));
        Assert.Equal("DPM++ 2M", info["sampler_name"]!.GetValue<string>());
        Assert.Equal("analytic-sd", info["sd_model_name"]!.GetValue<string>());
        Assert.Equal((64, 72, 5), (info["width"]!.GetValue<int>(), info["height"]!.GetValue<int>(), info["steps"]!.GetValue<int>()));
        var infotext = info["infotexts"]![0]!.GetValue<string>();
        Assert.Equal("a blue ball\nNegative prompt: a red ball\nSteps: 5, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 0.5, Seed: 42, Size: 64x72, Model: analytic-sd, Version: FlowDiffusion", infotext);
        Assert.Equal(infotext, FlowDiffusion.Comfy.Conversion.PngTextChunks.Read(A1111Client.Png(answer))["parameters"]);
        // parameters echoes the request with A1111's defaults for what it left out.
        Assert.Equal(1, answer["parameters"]!["batch_size"]!.GetValue<int>());
        Assert.Equal(1, answer["parameters"]!["n_iter"]!.GetValue<int>());
        Assert.Equal("a red ball", answer["parameters"]!["negative_prompt"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("a [red:blue:9] ball", 1.0, 0.0)]
    [InlineData("a [red:blue:8] ball", 0.0, 1.0)]
    [InlineData("a red ball AND a blue ball", 0.5, 0.5)]
    public async Task Prompts_are_read_with_A1111s_syntax(string prompt, double red, double blue)
    {
        // analytic-sd draws the colour the last step's text names; A1111's [from:to:when] switches at step `when` of 10,
        // and AND guides both sub-prompts (at CFG 0.5: u + 0.5·((c₁ − u) + (c₂ − u))). ComfyUI's syntax reads both as text.
        await using var host = await ComfyHost.StartAsync();
        var answer = await A1111Client.GenerateAsync(host, "txt2img", new JsonObject
        {
            ["prompt"] = prompt, ["steps"] = 10, ["cfg_scale"] = prompt.Contains("AND", StringComparison.Ordinal) ? 0.5 : 1, ["width"] = 64, ["height"] = 64,
            ["seed"] = 1, ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "analytic-sd" },
        });
        var (r, _, b, _, _) = Images.Mean(A1111Client.Png(answer));
        Assert.True(Math.Abs(r - red) < 0.02 && Math.Abs(b - blue) < 0.02, $"({r:F3}, {b:F3})");
    }

    [Fact]
    public async Task Sampler_names_old_combined_names_and_the_scheduler_field_pick_sampler_and_schedule()
    {
        // tiny-sd's images are noise, so every sampler and schedule draws other pixels (analytic-sd's end in one colour).
        await using var host = await ComfyHost.StartAsync();
        async Task<byte[]> A1111(JsonObject fields)
        {
            var request = new JsonObject
            {
                ["prompt"] = "a green ball", ["steps"] = 4, ["cfg_scale"] = 3, ["width"] = 64, ["height"] = 64, ["seed"] = 7,
                ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "tiny-sd" },
            };
            foreach (var (key, value) in fields) request[key] = value?.DeepClone();
            return A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "txt2img", request)));
        }

        Task<byte[]> Comfy(string sampler, string scheduler) =>
            A1111Client.ComfyPixelsAsync(host, Prompts.Txt2Img(model: "tiny-sd", text: "a green ball", sampler: sampler, scheduler: scheduler, seed: 7, steps: 4, cfg: 3));

        var dpm = await A1111(new JsonObject { ["sampler_name"] = "DPM++ 2M" });
        Assert.Equal(await Comfy("dpmpp_2m", "karras"), dpm);
        Assert.NotEqual(await Comfy("dpmpp_2m", "normal"), dpm);
        Assert.NotEqual(await Comfy("euler", "karras"), dpm);
        Assert.Equal(await Comfy("euler", "karras"), await A1111(new JsonObject { ["sampler_index"] = "Euler Karras" }));
        Assert.Equal(await Comfy("euler_ancestral", "exponential"), await A1111(new JsonObject { ["sampler_name"] = "Euler a", ["scheduler"] = "Exponential" }));
        Assert.Equal(await Comfy("euler", "normal"), await A1111(new JsonObject()));
    }

    [Fact]
    public async Task A_fixed_seed_repeats_and_a_random_seed_is_reported_and_reproduces_each_image_of_a_batch()
    {
        await using var host = await ComfyHost.StartAsync();
        JsonObject Request(long seed, int batch = 1, int iterations = 1) => new()
        {
            ["prompt"] = "a cat", ["steps"] = 3, ["cfg_scale"] = 5, ["width"] = 64, ["height"] = 64, ["seed"] = seed,
            ["sampler_name"] = "Euler a", ["batch_size"] = batch, ["n_iter"] = iterations,
            ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "tiny-sd" },
        };
        var first = A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "txt2img", Request(1234))));
        Assert.Equal(first, A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "txt2img", Request(1234)))));
        Assert.NotEqual(first, A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "txt2img", Request(1235)))));

        var random = await A1111Client.GenerateAsync(host, "txt2img", Request(-1, batch: 2, iterations: 2));
        Assert.Equal(4, random["images"]!.AsArray().Count);
        Assert.Equal(-1, random["parameters"]!["seed"]!.GetValue<long>());
        var info = A1111Client.Info(random);
        var seed = info["seed"]!.GetValue<long>();
        Assert.InRange(seed, 0, 4294967293);
        // A1111's seeds: seed + i for image i, across batches; each image is made again alone from its own seed.
        Assert.Equal([seed, seed + 1, seed + 2, seed + 3], info["all_seeds"]!.AsArray().Select(s => s!.GetValue<long>()));
        Assert.Contains($"Seed: {seed + 2},", info["infotexts"]![2]!.GetValue<string>());
        var again = await A1111Client.GenerateAsync(host, "txt2img", Request(seed + 2));
        Assert.Equal(A1111Client.Pixels(A1111Client.Png(random, 2)), A1111Client.Pixels(A1111Client.Png(again)));
        Assert.NotEqual(A1111Client.Pixels(A1111Client.Png(random, 1)), A1111Client.Pixels(A1111Client.Png(random, 2)));
    }

    [Theory]
    [InlineData("sampler_name", "\"Euler b\"", 404, "'Euler b'")]
    [InlineData("sampler_name", "\"PLMS\"", 404, "does not run")]
    [InlineData("scheduler", "\"Polyexponential\"", 422, "'Polyexponential'")]
    [InlineData("steps", "0", 422, "out of range")]
    [InlineData("steps", "\"many\"", 422, "integer")]
    [InlineData("width", "100", 422, "multiple of 8")]
    [InlineData("height", "4096", 422, "out of range")]
    [InlineData("cfg_scale", "-1", 422, "out of range")]
    [InlineData("batch_size", "0", 422, "out of range")]
    [InlineData("n_iter", "65", 422, "out of range")]
    [InlineData("restore_faces", "true", 422, "face restoration")]
    [InlineData("subseed_strength", "0.5", 422, "variation")]
    [InlineData("styles", "[\"photo\"]", 422, "styles")]
    [InlineData("alwayson_scripts", "[\"controlnet\"]", 422, "scripts")]
    [InlineData("prompt", "\"a cat <lora:x:1>\"", 404, "no such LoRA")]
    [InlineData("prompt", "\"a cat <hypernet:x:1>\"", 422, "only <lora:")]
    [InlineData("prompt", "\"a cat <lora:x:strong>\"", 422, "not a multiplier")]
    [InlineData("negative_prompt", "\"<lora:x:1>\"", 422, "belongs in the prompt")]
    public async Task Bad_fields_are_refused_by_name_in_A1111s_error_shape(string field, string value, int status, string message)
    {
        await using var host = await ComfyHost.StartAsync();
        var request = new JsonObject { ["prompt"] = "a cat", ["steps"] = 2, ["width"] = 64, ["height"] = 64, [field] = JsonNode.Parse(value) };
        var (code, body) = await A1111Client.PostAsync(host, "txt2img", request);
        Assert.Equal(status, code);
        Assert.Equal(field, body["field"]!.GetValue<string>());
        var detail = body["detail"]!.GetValue<string>();
        Assert.StartsWith(field + ":", detail);
        Assert.Contains(message, detail);
        Assert.Equal("HTTPException", body["error"]!.GetValue<string>());
        Assert.Equal($"{status}: {detail}", body["errors"]!.GetValue<string>());
    }

    [Fact]
    public async Task Unknown_checkpoints_settings_and_non_JSON_bodies_are_refused_by_name()
    {
        await using var host = await ComfyHost.StartAsync();
        var (code, body) = await A1111Client.PostAsync(host, "txt2img", new JsonObject
        {
            ["prompt"] = "a cat", ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "nope.safetensors [abc123]" },
        });
        Assert.Equal(404, code);
        Assert.Equal("override_settings.sd_model_checkpoint", body["field"]!.GetValue<string>());
        Assert.Contains("'analytic-sd'", body["detail"]!.GetValue<string>());

        (code, body) = await A1111Client.PostAsync(host, "txt2img", new JsonObject { ["override_settings"] = new JsonObject { ["CLIP_stop_at_last_layers"] = 3 }, ["width"] = 64, ["height"] = 64, ["steps"] = 1 });
        Assert.Equal(422, code);
        Assert.Equal("override_settings.CLIP_stop_at_last_layers", body["field"]!.GetValue<string>());

        (code, body) = await A1111Client.PostAsync(host, "txt2img", new JsonObject { ["override_settings"] = new JsonObject { ["sd_vae"] = "kl-f8.safetensors" } });
        Assert.Equal(422, code);
        Assert.Equal("override_settings.sd_vae", body["field"]!.GetValue<string>());

        using var response = await host.Client.PostAsync("/sdapi/v1/txt2img", new StringContent("{ not json", Encoding.UTF8, "application/json"));
        Assert.Equal(422, (int)response.StatusCode);
        Assert.Equal("body", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["field"]!.GetValue<string>());
    }
}
