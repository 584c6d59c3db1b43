using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests.A1111;

/// <summary>
/// A1111's upscalers on a real server: the list, the hires fix with an image upscaler, and the extras routes, each equal to
/// the ComfyUI prompt of the same nodes posted to /prompt. The models are the tiny ESRGAN fixtures of Checkpoints.Tests
/// (compact-x2: Real-ESRGAN's compact generator at 2×; rrdb-x4: an RRDBNet at 4×).
/// </summary>
public sealed class A1111UpscalerTests : IDisposable
{
    private readonly CheckpointHome _home = new("fd-a1111-upscale-");

    public A1111UpscalerTests()
    {
        _home.Add(Path.Combine(CheckpointHome.TestData, "esrgan", "compact-x2.safetensors"), "upscale_models/compact-x2.safetensors");
        _home.Add(Path.Combine(CheckpointHome.TestData, "esrgan", "rrdb-x4.safetensors"), "upscale_models/rrdb-x4.safetensors");
        Directory.CreateSymbolicLink(Path.Combine(_home.Folder, "models", "tiny-sd"), Path.Combine(RepositoryRoot.Path, "models", "tiny-sd"));
    }

    public void Dispose() => _home.Dispose();

    // The home's settings, with the repository's models folder readable (the tiny-sd link resolves there).
    private Dictionary<string, string?> Settings => new(_home.Settings)
    {
        ["FlowDiffusion:InputFolders:0"] = Path.Combine(_home.Folder, "models"),
        ["FlowDiffusion:InputFolders:1"] = Path.Combine(RepositoryRoot.Path, "models"),
    };

    [Fact]
    public async Task Upscalers_lists_None_Lanczos_Nearest_and_each_upscale_model_as_A1111_does()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings);
        var list = (await A1111Client.GetAsync(host, "upscalers")).AsArray();
        Assert.Equal(["None", "Lanczos", "Nearest", "compact-x2", "rrdb-x4"], list.Select(u => u!["name"]!.GetValue<string>()));
        Assert.Null(list[1]!["model_path"]);
        Assert.Null(list[1]!["model_name"]);
        Assert.Equal("models/upscale_models/rrdb-x4.safetensors", list[4]!["model_path"]!.GetValue<string>());
        Assert.Equal("ESRGAN_4x", list[4]!["model_name"]!.GetValue<string>());
        Assert.Null(list[4]!["model_url"]);
        Assert.Equal(4, list[4]!["scale"]!.GetValue<int>());
    }

    [Fact]
    public async Task Hires_fix_with_a_model_upscaler_equals_decode_model_lanczos_encode_and_a_second_pass()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings);
        async Task<byte[]> A1111(string upscaler)
        {
            var answer = await A1111Client.GenerateAsync(host, "txt2img", new JsonObject
            {
                ["prompt"] = "a cat", ["steps"] = 4, ["cfg_scale"] = 3, ["width"] = 64, ["height"] = 64, ["seed"] = 21, ["sampler_name"] = "Euler",
                ["enable_hr"] = true, ["hr_scale"] = 1.5, ["hr_upscaler"] = upscaler, ["hr_second_pass_steps"] = 6, ["denoising_strength"] = 0.5,
                ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "tiny-sd" },
            });
            Assert.EndsWith($"Hires upscaler: {upscaler}, Version: FlowDiffusion", A1111Client.Info(answer)["infotexts"]![0]!.GetValue<string>());
            return A1111Client.Pixels(A1111Client.Png(answer));
        }

        // The first pass decoded; the 2× model to 128², Lanczos to A1111's target 96² (64 × 1.5 rounded down to 8); encoded;
        // the second pass of 6 steps from step 6 − int(6 × 0.5) − 1 = 2, fresh noise from the seed at 96².
        JsonObject Comfy(bool model)
        {
            var comfy = Prompts.Txt2Img(model: "tiny-sd", text: "a cat", steps: 4, cfg: 3, seed: 21);
            comfy["20"] = Prompts.Node("VAEDecode", new JsonObject { ["samples"] = Prompts.Link("3", 0), ["vae"] = Prompts.Link("4", 2) });
            JsonArray pixels = model ? Prompts.Link("22", 0) : Prompts.Link("20", 0);
            if (model)
            {
                comfy["21"] = Prompts.Node("UpscaleModelLoader", new JsonObject { ["model_name"] = "compact-x2.safetensors" });
                comfy["22"] = Prompts.Node("ImageUpscaleWithModel", new JsonObject { ["upscale_model"] = Prompts.Link("21", 0), ["image"] = Prompts.Link("20", 0) });
            }

            comfy["23"] = Prompts.Node("ImageScale", new JsonObject { ["image"] = pixels, ["upscale_method"] = "lanczos", ["width"] = 96, ["height"] = 96, ["crop"] = "disabled" });
            comfy["24"] = Prompts.Node("VAEEncode", new JsonObject { ["pixels"] = Prompts.Link("23", 0), ["vae"] = Prompts.Link("4", 2) });
            comfy["25"] = Prompts.Node("KSamplerAdvanced", new JsonObject
            {
                ["model"] = Prompts.Link("4", 0), ["positive"] = Prompts.Link("6", 0), ["negative"] = Prompts.Link("7", 0), ["latent_image"] = Prompts.Link("24", 0),
                ["add_noise"] = "enable", ["noise_seed"] = 21, ["steps"] = 6, ["cfg"] = 3, ["sampler_name"] = "euler", ["scheduler"] = "normal",
                ["start_at_step"] = 2, ["end_at_step"] = 10000, ["return_with_leftover_noise"] = "disable",
            });
            comfy["8"]!["inputs"]!["samples"] = Prompts.Link("25", 0);
            return comfy;
        }

        var withModel = await A1111("compact-x2");
        Assert.Equal(96 * 96 * 4, withModel.Length);
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, Comfy(model: true)), withModel);
        var lanczos = await A1111Client.ComfyPixelsAsync(host, Comfy(model: false));
        Assert.NotEqual(lanczos, withModel);
        Assert.Equal(lanczos, await A1111("Lanczos"));
    }

    [Fact]
    public async Task Extras_scale_by_2_with_a_model_equals_the_ComfyUI_chain_and_carries_the_postprocessing_infotext()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings);
        var input = Pattern(40, 24);
        var (status, answer) = await A1111Client.PostAsync(host, "extra-single-image", new JsonObject
        {
            ["image"] = Convert.ToBase64String(input), ["upscaler_1"] = "compact-x2", ["upscaling_resize"] = 2,
        });
        Assert.True(status == 200, answer.ToJsonString());
        var png = Convert.FromBase64String(answer["image"]!.GetValue<string>());
        Assert.Equal((80, 48), (Images.Mean(png).Width, Images.Mean(png).Height));
        Assert.Equal("<p>Postprocess upscale by: 2.0, Postprocess upscaler: compact-x2</p>", answer["html_info"]!.GetValue<string>());
        Assert.Equal("Postprocess upscale by: 2.0, Postprocess upscaler: compact-x2", Conversion.PngTextChunks.Read(png)["postprocessing"]);
        // It ran as a ComfyUI prompt through the queue: /history lists it with its nodes.
        var history = await host.Client.GetStringAsync("/history");
        Assert.Contains("\"up1_0_model\"", history);
        Assert.Contains("compact-x2.safetensors", history);

        var comfy = Load(host, input);
        comfy["2"] = Prompts.Node("UpscaleModelLoader", new JsonObject { ["model_name"] = "compact-x2.safetensors" });
        comfy["3"] = Prompts.Node("ImageUpscaleWithModel", new JsonObject { ["upscale_model"] = Prompts.Link("2", 0), ["image"] = Prompts.Link("1", 0) });
        comfy["9"] = Prompts.Node("SaveImage", new JsonObject { ["images"] = Prompts.Link("3", 0), ["filename_prefix"] = "ref" });
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, comfy), A1111Client.Pixels(png));
    }

    [Fact]
    public async Task Extras_scale_by_3_with_a_2x_model_runs_it_twice_then_lanczos_to_the_target_as_A1111s_loop()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings);
        var input = Pattern(40, 24);
        var (status, answer) = await A1111Client.PostAsync(host, "extra-single-image", new JsonObject
        {
            ["image"] = Convert.ToBase64String(input), ["upscaler_1"] = "compact-x2", ["upscaling_resize"] = 3,
        });
        Assert.True(status == 200, answer.ToJsonString());
        var png = Convert.FromBase64String(answer["image"]!.GetValue<string>());
        Assert.Equal((120, 72), (Images.Mean(png).Width, Images.Mean(png).Height));
        // Target 120 × 72: the first pass gives 80 × 48, still smaller, so a second gives 160 × 96, then Lanczos to the target.
        var history = await host.Client.GetStringAsync("/history");
        Assert.Contains("\"up1_0_pass2\"", history);
        Assert.DoesNotContain("\"up1_0_pass3\"", history);

        JsonObject Comfy(int passes)
        {
            var comfy = Load(host, input);
            comfy["2"] = Prompts.Node("UpscaleModelLoader", new JsonObject { ["model_name"] = "compact-x2.safetensors" });
            var image = Prompts.Link("1", 0);
            for (var i = 0; i < passes; i++)
            {
                comfy[$"3{i}"] = Prompts.Node("ImageUpscaleWithModel", new JsonObject { ["upscale_model"] = Prompts.Link("2", 0), ["image"] = image });
                image = Prompts.Link($"3{i}", 0);
            }

            comfy["4"] = Prompts.Node("ImageScale", new JsonObject { ["image"] = image, ["upscale_method"] = "lanczos", ["width"] = 120, ["height"] = 72, ["crop"] = "disabled" });
            comfy["9"] = Prompts.Node("SaveImage", new JsonObject { ["images"] = Prompts.Link("4", 0), ["filename_prefix"] = "ref" });
            return comfy;
        }

        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, Comfy(2)), A1111Client.Pixels(png));
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, Comfy(1)), A1111Client.Pixels(png));
    }

    [Fact]
    public void A1111s_loop_repeats_a_model_while_the_image_is_smaller_than_the_target_at_most_three_times()
    {
        var x2 = new A1111Upscaler("x2", "x2.safetensors") { ModelScale = 2 };
        var x4 = x2 with { ModelScale = 4 };
        Assert.Equal([(80L, 48L)], A1111Upscalers.Passes(40, 24, 2, x2));
        Assert.Equal([(80L, 48L), (160L, 96L)], A1111Upscalers.Passes(40, 24, 3, x2));
        Assert.Equal([(80L, 48L), (160L, 96L)], A1111Upscalers.Passes(40, 24, 4, x2));
        Assert.Equal([(80L, 48L), (160L, 96L), (320L, 192L)], A1111Upscalers.Passes(40, 24, 8, x2));
        // Scale-to (resize_mode 1) can ask for more than 8×: three passes at most, Lanczos does the rest.
        Assert.Equal([(80L, 48L), (160L, 96L), (320L, 192L)], A1111Upscalers.Passes(40, 24, 10, x2));
        Assert.Equal([(160L, 96L)], A1111Upscalers.Passes(40, 24, 4, x4));
        // 4.1 × 40 = 164 rounds down to 160: one 4× pass reaches it.
        Assert.Equal([(160L, 96L)], A1111Upscalers.Passes(40, 24, 4.1, x4));
        // A pass that leaves the size as it was ends the loop (a 1× model runs once, not three times).
        Assert.Equal([(40L, 24L)], A1111Upscalers.Passes(40, 24, 2, x2 with { ModelScale = 1 }));
        // Not measured: one pass of unknown size; the built-in upscalers resize once.
        Assert.Equal([(-1L, -1L)], A1111Upscalers.Passes(40, 24, 3, x2 with { ModelScale = null }));
        Assert.Empty(A1111Upscalers.Passes(40, 24, 3, new A1111Upscaler("Lanczos", null)));

        // The hires fix's resize: 64² to 256² with the 2× model is two passes and no Lanczos.
        var prompt = new JsonObject();
        Assert.Equal("up_pass2", A1111Upscalers.Resize(prompt, "up", ["decode", 0], 64, 64, 256, 256, x2)[0]!.GetValue<string>());
        Assert.Equal(["up_model", "up", "up_pass2"], prompt.Select(p => p.Key));
    }

    [Fact]
    public async Task Progress_reports_a_running_extras_batch_and_interrupt_stops_it_with_the_images_finished()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings);
        // First the model's conversion and the scale's probe, which the batch then finds done.
        var (warm, warmAnswer) = await A1111Client.PostAsync(host, "extra-single-image", new JsonObject { ["image"] = Convert.ToBase64String(Pattern(8, 8)), ["upscaler_1"] = "rrdb-x4" });
        Assert.True(warm == 200, warmAnswer.ToJsonString());
        // The queue lets go of a finished prompt just after its answer; wait for that, so job_count counts the batch alone.
        var idle = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < idle && JsonNode.Parse(await host.Client.GetStringAsync("/queue")) is { } queue
               && queue["queue_running"]!.AsArray().Count + queue["queue_pending"]!.AsArray().Count > 0)
        {
            await Task.Delay(20);
        }

        var list = new JsonArray();
        for (var i = 0; i < 16; i++) list.Add(new JsonObject { ["data"] = Convert.ToBase64String(Pattern(48, 48, seed: i)), ["name"] = $"{i}.png" });
        // The 4× model twice per image (48² → 192² → 768², then Lanczos to 384²): the interrupt lands before the last.
        var extras = A1111Client.PostAsync(host, "extra-batch-images", new JsonObject { ["imageList"] = list, ["upscaler_1"] = "rrdb-x4", ["upscaling_resize"] = 8 });
        JsonNode progress;
        var deadline = DateTime.UtcNow.AddSeconds(120);
        do
        {
            await Task.Delay(20);
            progress = await A1111Client.GetAsync(host, "progress");
        }
        while (progress["state"]!["job"]!.GetValue<string>().Length == 0 && DateTime.UtcNow < deadline);

        // Interrupt stops the run that executes (ComfyUI's /interrupt), so wait until the queue runs it.
        while (JsonNode.Parse(await host.Client.GetStringAsync("/queue"))!["queue_running"]!.AsArray().Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        var (status, _) = await A1111Client.PostAsync(host, "interrupt", new JsonObject());

        Assert.StartsWith("task(", progress["state"]!["job"]!.GetValue<string>());
        Assert.True(1 == progress["state"]!["job_count"]!.GetValue<int>(), progress.ToJsonString());
        Assert.InRange(progress["progress"]!.GetValue<double>(), 0, 15 / 16.0);
        Assert.Equal(0, progress["state"]!["sampling_steps"]!.GetValue<int>());
        Assert.Equal(200, status);
        var (code, answer) = await extras;
        Assert.True(code == 200, answer.ToJsonString());
        Assert.InRange(answer["images"]!.AsArray().Count, 0, 15);
        var after = await A1111Client.GetAsync(host, "progress");
        Assert.True(after["state"]!["interrupted"]!.GetValue<bool>());
        Assert.Equal("", after["state"]!["job"]!.GetValue<string>());
    }

    [Fact]
    public async Task Extras_scale_to_with_crop_resizes_by_the_larger_ratio_and_crops_about_the_centre()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings);
        var input = Pattern(40, 24);
        async Task<byte[]> Extras(bool crop)
        {
            var (status, answer) = await A1111Client.PostAsync(host, "extra-single-image", new JsonObject
            {
                ["image"] = "data:image/png;base64," + Convert.ToBase64String(input), ["resize_mode"] = 1, ["upscaler_1"] = "Lanczos",
                ["upscaling_resize_w"] = 64, ["upscaling_resize_h"] = 64, ["upscaling_crop"] = crop,
            });
            Assert.True(status == 200, answer.ToJsonString());
            return Convert.FromBase64String(answer["image"]!.GetValue<string>());
        }

        // Scale max(64/40, 64/24) = 8/3: Lanczos to int(40 × 8/3) × 64 = 106 × 64, then to A1111's multiple of 8, 104 × 64;
        // cropped to 64 × 64 about the centre: x = 104/2 − 64/2 = 20.
        var cropped = await Extras(crop: true);
        Assert.Equal((64, 64), (Images.Mean(cropped).Width, Images.Mean(cropped).Height));
        Assert.Equal("Postprocess upscale to: 64x64, Postprocess crop to: 64x64, Postprocess upscaler: Lanczos", Conversion.PngTextChunks.Read(cropped)["postprocessing"]);
        var whole = await Extras(crop: false);
        Assert.Equal((104, 64), (Images.Mean(whole).Width, Images.Mean(whole).Height));

        var comfy = Load(host, input);
        comfy["2"] = Prompts.Node("ImageScale", new JsonObject { ["image"] = Prompts.Link("1", 0), ["upscale_method"] = "lanczos", ["width"] = 106, ["height"] = 64, ["crop"] = "disabled" });
        comfy["3"] = Prompts.Node("ImageScale", new JsonObject { ["image"] = Prompts.Link("2", 0), ["upscale_method"] = "lanczos", ["width"] = 104, ["height"] = 64, ["crop"] = "disabled" });
        comfy["4"] = Prompts.Node("ImageCrop", new JsonObject { ["image"] = Prompts.Link("3", 0), ["width"] = 64, ["height"] = 64, ["x"] = 20, ["y"] = 0 });
        comfy["9"] = Prompts.Node("SaveImage", new JsonObject { ["images"] = Prompts.Link("4", 0), ["filename_prefix"] = "ref" });
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, comfy), A1111Client.Pixels(cropped));
        comfy["4"]!["inputs"]!["x"] = 21;
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, comfy), A1111Client.Pixels(cropped));
    }

    [Fact]
    public async Task Upscaler_2_at_visibility_one_half_is_the_average_of_the_two_upscalers_and_a_batch_answers_each_image()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings);
        var input = Pattern(24, 16);
        async Task<(byte[] Pixels, JsonNode Answer)> Batch(string first, string second, double visibility)
        {
            var (status, answer) = await A1111Client.PostAsync(host, "extra-batch-images", new JsonObject
            {
                ["imageList"] = new JsonArray(
                    new JsonObject { ["data"] = Convert.ToBase64String(input), ["name"] = "a.png" },
                    new JsonObject { ["data"] = Convert.ToBase64String(Pattern(8, 8, seed: 2)), ["name"] = "b.png" }),
                ["upscaler_1"] = first, ["upscaler_2"] = second, ["extras_upscaler_2_visibility"] = visibility, ["upscaling_resize"] = 2,
            });
            Assert.True(status == 200, answer.ToJsonString());
            Assert.Equal(2, answer["images"]!.AsArray().Count);
            var small = Convert.FromBase64String(answer["images"]![1]!.GetValue<string>());
            Assert.Equal((16, 16), (Images.Mean(small).Width, Images.Mean(small).Height));
            return (A1111Client.Pixels(Convert.FromBase64String(answer["images"]![0]!.GetValue<string>())), answer);
        }

        var (lanczos, _) = await Batch("Lanczos", "None", 0);
        var (nearest, _) = await Batch("Nearest", "None", 0);
        var (blend, answer) = await Batch("Lanczos", "Nearest", 0.5);
        Assert.Equal("<p>Postprocess upscale by: 2.0, Postprocess upscaler: Lanczos, Postprocess upscaler 2: Nearest</p>", answer["html_info"]!.GetValue<string>());
        Assert.Equal(48 * 32 * 4, blend.Length);
        Assert.NotEqual(lanczos, nearest);
        var worst = blend.Select((b, i) => Math.Abs(b - (lanczos[i] + nearest[i]) / 2.0)).Max();
        Assert.True(worst <= 1, $"the blend differs from the average by {worst}");
        // Nearest at exactly 2× repeats each source pixel twice.
        Assert.Equal(nearest.AsSpan(0, 4).ToArray(), nearest.AsSpan(4, 4).ToArray());
    }

    [Fact]
    public async Task Extras_without_an_upscaler_returns_the_image_and_keeps_its_parameters_chunk()
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings);
        var input = Api.PreviewPng.WithText(Pattern(16, 8), "parameters", "a cat\nSteps: 3, Sampler: Euler, Seed: 4");
        var (status, answer) = await A1111Client.PostAsync(host, "extra-single-image", new JsonObject { ["image"] = Convert.ToBase64String(input) });
        Assert.True(status == 200, answer.ToJsonString());
        Assert.Equal("<p></p>", answer["html_info"]!.GetValue<string>());
        var png = Convert.FromBase64String(answer["image"]!.GetValue<string>());
        Assert.Equal(A1111Client.Pixels(input), A1111Client.Pixels(png));
        var info = (await A1111Client.PostAsync(host, "png-info", new JsonObject { ["image"] = Convert.ToBase64String(png) })).Body;
        Assert.Equal("a cat\nSteps: 3, Sampler: Euler, Seed: 4", info["info"]!.GetValue<string>());
        Assert.Equal("", info["items"]!["postprocessing"]!.GetValue<string>());
        Assert.Equal("4", info["parameters"]!["Seed"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("extra-single-image", "upscaler_1", "\"R-ESRGAN 4x+\"", 404, "no such upscaler")]
    [InlineData("extra-single-image", "upscaler_2", "\"nope\"", 404, "no such upscaler")]
    [InlineData("extra-single-image", "image", "\"not base64!\"", 422, "base64")]
    [InlineData("extra-single-image", "image", "\"AAAAAAAA\"", 422, "cannot be read")]
    [InlineData("extra-single-image", "gfpgan_visibility", "0.5", 422, "face restoration")]
    [InlineData("extra-single-image", "codeformer_visibility", "1", 422, "face restoration")]
    [InlineData("extra-single-image", "resize_mode", "2", 422, "out of range")]
    [InlineData("extra-single-image", "upscaling_resize", "9", 422, "out of range")]
    [InlineData("extra-single-image", "upscaling_resize_w", "8000", 422, "image limits")]
    [InlineData("extra-single-image", "extras_upscaler_2_visibility", "\"half\"", 422, "number")]
    [InlineData("extra-batch-images", "imageList", "{}", 422, "list")]
    [InlineData("extra-batch-images", "imageList[0].name", "[{\"data\": \"\"}]", 422, "required")]
    [InlineData("png-info", "image", "\"%%%\"", 422, "base64")]
    [InlineData("png-info", "image", "\"AAAAAAAAAAAA\"", 422, "cannot be read")]
    [InlineData("png-info", "image", "5", 422, "string")]
    public async Task Bad_extras_and_png_info_fields_are_refused_by_name(string route, string field, string value, int code, string message)
    {
        await using var host = await ComfyHost.StartAsync(settings: Settings);
        var body = new JsonObject { ["image"] = Convert.ToBase64String(Pattern(16, 16)), ["upscaler_1"] = "Lanczos", ["resize_mode"] = 1 };
        body[field.Split('[')[0]] = JsonNode.Parse(value);
        var (status, answer) = await A1111Client.PostAsync(host, route, body);
        Assert.Equal(code, status);
        Assert.Equal(field, answer["field"]!.GetValue<string>());
        Assert.Contains(message, answer["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_hires_upscaler_is_404_and_a_body_over_the_upload_limit_is_413()
    {
        var settings = new Dictionary<string, string?>(Settings) { ["FlowDiffusion:Server:MaxUploadBytes"] = "3000" };
        await using var host = await ComfyHost.StartAsync(settings: settings);
        var (status, answer) = await A1111Client.PostAsync(host, "txt2img", new JsonObject
        {
            ["prompt"] = "a cat", ["steps"] = 2, ["width"] = 64, ["height"] = 64, ["enable_hr"] = true, ["hr_upscaler"] = "4x-UltraSharp",
            ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "tiny-sd" },
        });
        Assert.Equal(404, status);
        Assert.Equal("hr_upscaler", answer["field"]!.GetValue<string>());
        Assert.Contains("'compact-x2'", answer["detail"]!.GetValue<string>());

        var huge = new string('A', (1 << 20) + 8000);
        foreach (var route in new[] { "extra-single-image", "png-info" })
        {
            (status, answer) = await A1111Client.PostAsync(host, route, new JsonObject { ["image"] = huge });
            Assert.Equal(413, status);
            Assert.Equal("body", answer["field"]!.GetValue<string>());
        }

        (status, _) = await A1111Client.PostAsync(host, "extra-batch-images", new JsonObject { ["imageList"] = new JsonArray(new JsonObject { ["data"] = huge, ["name"] = "a" }) });
        Assert.Equal(413, status);
    }

    // LoadImage of the input written to the upload folder, as a ComfyUI client uploads it.
    private static JsonObject Load(ComfyHost host, byte[] png)
    {
        var folder = Path.Combine(host.Root, "data", "comfy-input");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "extras-input.png"), png);
        return new JsonObject { ["1"] = Prompts.Node("LoadImage", new JsonObject { ["image"] = "extras-input.png" }) };
    }

    // Seeded random opaque colours: every upscaler gives something different.
    internal static byte[] Pattern(int width, int height, int seed = 1)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
