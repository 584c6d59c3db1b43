using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests.A1111;

/// <summary>
/// sd-webui-controlnet's API on the A1111 layer, on a real server with the tiny SD 1.x checkpoint and its tiny ControlNet:
/// units draw the pixels of the ComfyUI prompt written by hand (LoadImage → Canny → ControlNetApplyAdvanced), stack, take
/// img2img's init image, and are refused by name; the extension's routes list, detect and answer as it does.
/// </summary>
public sealed class A1111ControlNetTests : IDisposable
{
    private const string Model = "control_v11p_sd15_canny";

    // The tiny ControlNet is under 1 MiB, so A1111's short hash is that of no bytes: SHA-256("")[..8].
    private static readonly string ModelTitle = $"{Model} [{Convert.ToHexStringLower(SHA256.HashData([]))[..8]}]";

    private static readonly string Hints = Path.Combine(CheckpointHome.TestData, "sd1-tiny", "controlnet");

    private readonly CheckpointHome _home = new("fd-a1111-controlnet-");

    public A1111ControlNetTests()
    {
        _home.Add(Path.Combine(CheckpointHome.TestData, "sd1-tiny", "ldm-fp16.safetensors"), "checkpoints/sd1-tiny.safetensors");
        _home.Add(Path.Combine(Hints, "control-ldm-fp16.safetensors"), $"controlnet/{Model}.safetensors");
    }

    public void Dispose() => _home.Dispose();

    private static string Hint(string name) => Convert.ToBase64String(File.ReadAllBytes(Path.Combine(Hints, name)));

    private static JsonObject Txt2Img(params JsonObject[] units) => new()
    {
        ["prompt"] = "a cat", ["steps"] = 2, ["cfg_scale"] = 4, ["width"] = 64, ["height"] = 64, ["seed"] = 9, ["sampler_name"] = "Euler",
        ["override_settings"] = new JsonObject { ["sd_model_checkpoint"] = "sd1-tiny" },
        ["alwayson_scripts"] = new JsonObject { ["controlnet"] = new JsonObject { ["args"] = new JsonArray([.. units]) } },
    };

    private static JsonObject CannyUnit(string image = "hint-a.png") => new()
    {
        ["enabled"] = true, ["module"] = "canny", ["model"] = ModelTitle, ["image"] = Hint(image), ["threshold_a"] = 80, ["pixel_perfect"] = true,
    };

    // ComfyUI's txt2img on the tiny checkpoint with Canny → ControlNetApplyAdvanced between the encoders and the sampler.
    private static JsonObject CannyPrompt(string image, double strength = 1, double start = 0, double end = 1)
    {
        var prompt = Prompts.Txt2Img(model: "sd1-tiny.safetensors", text: "a cat", steps: 2, cfg: 4, seed: 9);
        prompt["20"] = Node("LoadImage", new JsonObject { ["image"] = image });
        prompt["21"] = Node("Canny", new JsonObject { ["image"] = Link("20", 0), ["low_threshold"] = 80.0 / 255, ["high_threshold"] = 200.0 / 255 });
        prompt["22"] = Node("ControlNetLoader", new JsonObject { ["control_net_name"] = $"{Model}.safetensors" });
        prompt["23"] = Node("ControlNetApplyAdvanced", new JsonObject
        {
            ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["control_net"] = Link("22", 0), ["image"] = Link("21", 0),
            ["strength"] = strength, ["start_percent"] = start, ["end_percent"] = end,
        });
        prompt["3"]!["inputs"]!["positive"] = Link("23", 0);
        prompt["3"]!["inputs"]!["negative"] = Link("23", 1);
        return prompt;
    }

    private async Task<string> UploadAsync(ComfyHost host, string name) =>
        await ClassMappingTests.UploadAsync(host, "/upload/image", name, await File.ReadAllBytesAsync(Path.Combine(Hints, name)));

    [Fact]
    public async Task A_canny_unit_draws_the_pixels_of_Canny_and_ControlNetApplyAdvanced_and_writes_the_extensions_infotext()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var answer = await A1111Client.GenerateAsync(host, "txt2img", Txt2Img(CannyUnit()));
        var pixels = A1111Client.Pixels(A1111Client.Png(answer));
        var hint = await UploadAsync(host, "hint-a.png");

        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, CannyPrompt(hint)), pixels);
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, CannyPrompt(hint, strength: 0.5)), pixels);
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, Prompts.Txt2Img(model: "sd1-tiny.safetensors", text: "a cat", steps: 2, cfg: 4, seed: 9)), pixels);
        // Weight, guidance start and guidance end reach ControlNetApplyAdvanced: each changes the image as its ComfyUI input does.
        foreach (var (field, value, prompt) in new[] { ("weight", 0.5, CannyPrompt(hint, strength: 0.5)), ("guidance_start", 0.5, CannyPrompt(hint, start: 0.5)), ("guidance_end", 0.5, CannyPrompt(hint, end: 0.5)) })
        {
            var unit = CannyUnit();
            unit[field] = value;
            var changed = A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "txt2img", Txt2Img(unit))));
            Assert.NotEqual(pixels, changed);
            Assert.Equal(await A1111Client.ComfyPixelsAsync(host, prompt), changed);
        }

        // The extension's detected map follows the image: here Canny's edges at 64², white on black.
        Assert.Equal(2, answer["images"]!.AsArray().Count);
        var map = A1111Client.Pixels(A1111Client.Png(answer, 1));
        Assert.Contains(map, b => b == 255);
        Assert.True(map.Where((_, i) => i % 4 == 0).Count(b => b == 0) > 64 * 64 / 2);
        // The answer echoes the request, but not the control image's bytes (as init_images).
        Assert.Null(answer["parameters"]!["alwayson_scripts"]!["controlnet"]!["args"]![0]!["image"]);
        Assert.Equal("canny", answer["parameters"]!["alwayson_scripts"]!["controlnet"]!["args"]![0]!["module"]!.GetValue<string>());
        var info = A1111Client.Info(answer);
        const string unitText = "Module: canny, Model: control_v11p_sd15_canny [e3b0c442], Weight: 1.0, Resize Mode: Crop and Resize, Processor Res: 512, Threshold A: 80.0, Threshold B: 200, Guidance Start: 0.0, Guidance End: 1.0, Pixel Perfect: True, Control Mode: Balanced";
        Assert.Equal(unitText, info["extra_generation_params"]!["ControlNet 0"]!.GetValue<string>());
        Assert.EndsWith($", ControlNet 0: \"{unitText}\", Version: FlowDiffusion", info["infotexts"]![0]!.GetValue<string>());

        var unsaved = CannyUnit();
        unsaved["save_detected_map"] = false;
        Assert.Single((await A1111Client.GenerateAsync(host, "txt2img", Txt2Img(unsaved)))["images"]!.AsArray());
        // A unit left disabled (the extension's default) changes nothing.
        var disabled = CannyUnit();
        disabled.Remove("enabled");
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, Prompts.Txt2Img(model: "sd1-tiny.safetensors", text: "a cat", steps: 2, cfg: 4, seed: 9)),
            A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "txt2img", Txt2Img(disabled)))));
    }

    // CannyPrompt with ComfyUI-Advanced-ControlNet's apply and scaled soft weights (base 0.825) in place of ControlNetApplyAdvanced.
    private static JsonObject SoftCannyPrompt(string image, double uncondMultiplier)
    {
        var prompt = CannyPrompt(image);
        prompt["23"]!["class_type"] = "ACN_AdvancedControlNetApply_v2";
        prompt["23"]!["inputs"]!["weights_override"] = Link("24", 0);
        prompt["24"] = Node("ACN_ScaledSoftControlNetWeights", new JsonObject { ["base_multiplier"] = 0.825, ["uncond_multiplier"] = uncondMultiplier });
        return prompt;
    }

    [Fact]
    public async Task Control_modes_are_the_extensions_soft_injection_as_Advanced_ControlNets_scaled_soft_weights_on_both_or_the_positive_alone()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var hint = await UploadAsync(host, "hint-a.png");
        var balanced = A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "txt2img", Txt2Img(CannyUnit()))));
        var images = new List<byte[]>();
        foreach (var (sent, name, uncond) in new (JsonNode Sent, string Name, double Uncond)[]
                 {
                     (1, "My prompt is more important", 1), ("My prompt is more important", "My prompt is more important", 1),
                     (2, "ControlNet is more important", 0), ("ControlNet is more important", "ControlNet is more important", 0),
                 })
        {
            var unit = CannyUnit();
            unit["control_mode"] = sent;
            var answer = await A1111Client.GenerateAsync(host, "txt2img", Txt2Img(unit));
            var pixels = A1111Client.Pixels(A1111Client.Png(answer));
            Assert.Equal(await A1111Client.ComfyPixelsAsync(host, SoftCannyPrompt(hint, uncond)), pixels);
            Assert.NotEqual(balanced, pixels);
            Assert.Contains($"Control Mode: {name}\"", A1111Client.Info(answer)["infotexts"]![0]!.GetValue<string>());
            images.Add(pixels);
        }

        // The two modes differ from each other (the negative's rows with and without the ControlNet), and "ControlNet is more
        // important" is not the ControlNet on the positive at full weight (ControlNetApply on the positive alone).
        Assert.NotEqual(images[0], images[2]);
        var positiveOnly = CannyPrompt(hint);
        positiveOnly["23"] = Node("ControlNetApply", new JsonObject { ["conditioning"] = Link("6", 0), ["control_net"] = Link("22", 0), ["image"] = Link("21", 0), ["strength"] = 1.0 });
        positiveOnly["3"]!["inputs"]!["negative"] = Link("7", 0);
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, positiveOnly), images[2]);
    }

    [Fact]
    public async Task With_the_hires_fix_the_second_pass_takes_the_detected_map_fitted_to_the_hires_size_and_canny_in_soft_injection()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        JsonObject Request(JsonObject unit)
        {
            var request = Txt2Img(unit);
            (request["enable_hr"], request["hr_scale"], request["hr_upscaler"], request["denoising_strength"]) = (true, 1.5, "Latent", 0.7);
            return request;
        }

        // The hand-written two passes: the first as CannyPrompt; LatentUpscale to 96², then 2 steps from step 2 − int(2 × 0.7) − 1
        // = 0 with the same Canny map scaled to 96² (bicubic, Crop and Resize) under scaled soft weights on both rows.
        var hint = await UploadAsync(host, "hint-a.png");
        JsonObject TwoPass(string? hiresImage = "30", bool soft = true, bool lowRes = true, bool highRes = true)
        {
            var prompt = CannyPrompt(hint);
            prompt["30"] = Node("ImageScale", new JsonObject { ["image"] = Link("21", 0), ["upscale_method"] = "bicubic", ["width"] = 96, ["height"] = 96, ["crop"] = "center" });
            prompt["31"] = Node("ACN_ScaledSoftControlNetWeights", new JsonObject { ["base_multiplier"] = 0.825, ["uncond_multiplier"] = 1.0 });
            prompt["32"] = Node(soft ? "ACN_AdvancedControlNetApply_v2" : "ControlNetApplyAdvanced", new JsonObject
            {
                ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["control_net"] = Link("22", 0), ["image"] = Link(hiresImage!, 0),
                ["strength"] = 1.0, ["start_percent"] = 0.0, ["end_percent"] = 1.0,
            });
            if (soft) prompt["32"]!["inputs"]!["weights_override"] = Link("31", 0);
            prompt["40"] = Node("LatentUpscale", new JsonObject { ["samples"] = Link("3", 0), ["upscale_method"] = "bilinear", ["width"] = 96, ["height"] = 96, ["crop"] = "disabled" });
            prompt["41"] = Node("KSamplerAdvanced", new JsonObject
            {
                ["model"] = Link("4", 0), ["positive"] = highRes ? Link("32", 0) : Link("6", 0), ["negative"] = highRes ? Link("32", 1) : Link("7", 0), ["latent_image"] = Link("40", 0),
                ["add_noise"] = "enable", ["noise_seed"] = 9, ["steps"] = 2, ["cfg"] = 4, ["sampler_name"] = "euler", ["scheduler"] = "normal",
                ["start_at_step"] = 0, ["end_at_step"] = 10000, ["return_with_leftover_noise"] = "disable",
            });
            if (!lowRes) (prompt["3"]!["inputs"]!["positive"], prompt["3"]!["inputs"]!["negative"]) = (Link("6", 0), Link("7", 0));
            prompt["8"]!["inputs"]!["samples"] = Link("41", 0);
            return prompt;
        }

        var answer = await A1111Client.GenerateAsync(host, "txt2img", Request(CannyUnit()));
        var pixels = A1111Client.Pixels(A1111Client.Png(answer));
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, TwoPass()), pixels);
        // Not the low-res map stretched by the ControlNet, and not Balanced in the second pass.
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, TwoPass(hiresImage: "21")), pixels);
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, TwoPass(soft: false)), pixels);
        // The extension's detected maps: the hires one (96²) first, then the first pass's (64²).
        Assert.Equal(3, answer["images"]!.AsArray().Count);
        Assert.Equal((96, 96), (Images.Mean(A1111Client.Png(answer, 1)).Width, Images.Mean(A1111Client.Png(answer, 1)).Height));
        Assert.Equal((64, 64), (Images.Mean(A1111Client.Png(answer, 2)).Width, Images.Mean(A1111Client.Png(answer, 2)).Height));

        // hr_option leaves the unit out of one pass (by name or number).
        foreach (var (option, lowRes, highRes) in new (JsonNode, bool, bool)[] { ("Low res only", true, false), (2, false, true) })
        {
            var unit = CannyUnit();
            unit["hr_option"] = option;
            Assert.Equal(await A1111Client.ComfyPixelsAsync(host, TwoPass(lowRes: lowRes, highRes: highRes)),
                A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "txt2img", Request(unit)))));
        }

        // A module other than canny keeps Balanced in the second pass (ControlNetApplyAdvanced on the map as it is, here the image).
        var plain = CannyUnit();
        plain["module"] = "none";
        var none = TwoPass(soft: false);
        none.Remove("21");
        none["30"]!["inputs"]!["image"] = Link("20", 0);
        none["23"]!["inputs"]!["image"] = Link("20", 0);
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, none), A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "txt2img", Request(plain)))));
    }

    [Fact]
    public async Task A_tile_resample_unit_divides_the_image_by_the_down_sampling_rate_and_control_types_lists_the_modules_and_models_by_tag()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var hint = await UploadAsync(host, "hint-a.png");
        JsonObject Tile(double rate)
        {
            var unit = CannyUnit();
            (unit["module"], unit["threshold_a"]) = ("tile_resample", rate);
            return unit;
        }

        // Rate 2.5: int(64 / 2.5) = 25 (not round's 26), area; back to 64² bicubic (Crop and Resize); under 1.1 the image as it is.
        JsonObject Prompt(int? side)
        {
            var prompt = CannyPrompt(hint);
            prompt.Remove("21");
            prompt["23"]!["inputs"]!["image"] = Link("20", 0);
            if (side is not { } s) return prompt;
            prompt["24"] = Node("ImageScale", new JsonObject { ["image"] = Link("20", 0), ["upscale_method"] = "area", ["width"] = s, ["height"] = s, ["crop"] = "disabled" });
            prompt["25"] = Node("ImageScale", new JsonObject { ["image"] = Link("24", 0), ["upscale_method"] = "bicubic", ["width"] = 64, ["height"] = 64, ["crop"] = "center" });
            prompt["23"]!["inputs"]!["image"] = Link("25", 0);
            return prompt;
        }

        var tiled = A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "txt2img", Txt2Img(Tile(2.5)))));
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, Prompt(25)), tiled);
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, Prompt(26)), tiled);
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, Prompt(null)), tiled);
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, Prompt(null)),
            A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "txt2img", Txt2Img(Tile(1.05))))));

        var types = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/control_types"))!["control_types"]!.AsObject();
        JsonObject Type(JsonArray modules, JsonArray models, string module, string model) =>
            new() { ["module_list"] = modules, ["model_list"] = models, ["default_option"] = module, ["default_model"] = model };
        Assert.True(JsonNode.DeepEquals(Type(["none", "canny", "invert (from white bg & black line)"], ["None", ModelTitle], "canny", ModelTitle), types["Canny"]), types["Canny"]!.ToJsonString());
        Assert.True(JsonNode.DeepEquals(Type(["none", "tile_resample", "blur_gaussian"], ["None"], "tile_resample", "None"), types["Tile"]), types["Tile"]!.ToJsonString());
        Assert.True(JsonNode.DeepEquals(Type(["none"], ["None"], "none", "None"), types["InstructP2P"]), types["InstructP2P"]!.ToJsonString());
        Assert.Equal("All", types.First().Key);
        Assert.Equal(new[] { "All", "Canny", "InstructP2P", "Lineart", "MLSD", "Recolor", "Scribble", "Shuffle", "SparseCtrl", "T2I-Adapter", "Tile" }, types.Select(t => t.Key));
        Assert.Equal(new[] { "None", ModelTitle }, types["All"]!["model_list"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal("none", types["All"]!["module_list"]![0]!.GetValue<string>());
        Assert.Contains("tile_resample", types["All"]!["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
    }

    [Fact]
    public async Task Two_units_chain_ControlNetApplyAdvanced_with_the_preprocessor_resolution_and_resize_mode_as_ImageScale()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var canny = CannyUnit();
        canny.Remove("pixel_perfect");
        var none = new JsonObject
        {
            ["enabled"] = true, ["module"] = "none", ["model"] = Model, ["image"] = new JsonObject { ["image"] = Hint("hint-b.png"), ["mask"] = null },
            ["weight"] = 0.4, ["guidance_start"] = 0.2, ["guidance_end"] = 0.8, ["resize_mode"] = 0,
        };
        // Four steps of the normal schedule (timesteps 999, 666, 333, 0): the second unit's 0.2–0.8 window holds two.
        var request = Txt2Img(canny, none);
        request["steps"] = 4;
        var answer = await A1111Client.GenerateAsync(host, "txt2img", request);

        // Unit 0: the short side to processor_res 512 (bicubic), Canny, back to 64² (area, Crop and Resize); unit 1 on its conditionings.
        var prompt = CannyPrompt(await UploadAsync(host, "hint-a.png"));
        prompt["24"] = Node("ImageScale", new JsonObject { ["image"] = Link("20", 0), ["upscale_method"] = "bicubic", ["width"] = 512, ["height"] = 512, ["crop"] = "disabled" });
        prompt["21"]!["inputs"]!["image"] = Link("24", 0);
        prompt["25"] = Node("ImageScale", new JsonObject { ["image"] = Link("21", 0), ["upscale_method"] = "area", ["width"] = 64, ["height"] = 64, ["crop"] = "center" });
        prompt["23"]!["inputs"]!["image"] = Link("25", 0);
        prompt["30"] = Node("LoadImage", new JsonObject { ["image"] = await UploadAsync(host, "hint-b.png") });
        prompt["31"] = Node("ControlNetApplyAdvanced", new JsonObject
        {
            ["positive"] = Link("23", 0), ["negative"] = Link("23", 1), ["control_net"] = Link("22", 0), ["image"] = Link("30", 0),
            ["strength"] = 0.4, ["start_percent"] = 0.2, ["end_percent"] = 0.8,
        });
        prompt["3"]!["inputs"]!["positive"] = Link("31", 0);
        prompt["3"]!["inputs"]!["negative"] = Link("31", 1);
        prompt["3"]!["inputs"]!["steps"] = 4;

        var pixels = A1111Client.Pixels(A1111Client.Png(answer));
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, prompt), pixels);
        prompt["31"]!["inputs"]!["strength"] = 0.8;
        Assert.NotEqual(await A1111Client.ComfyPixelsAsync(host, prompt), pixels);
        Assert.Equal(3, answer["images"]!.AsArray().Count);
        Assert.Contains("ControlNet 1: \"Module: none, Model: control_v11p_sd15_canny, Weight: 0.4, Resize Mode: Just Resize, Processor Res: 512, Threshold A: 0.5, Threshold B: 0.5, Guidance Start: 0.2, Guidance End: 0.8, Pixel Perfect: False, Control Mode: Balanced\"",
            A1111Client.Info(answer)["infotexts"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task An_img2img_unit_without_an_image_takes_the_init_image()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var unit = CannyUnit();
        unit.Remove("image");
        var request = Txt2Img(unit);
        request["init_images"] = new JsonArray(Hint("hint-a.png"));
        request["denoising_strength"] = 0.6;
        request["steps"] = 4;
        var pixels = A1111Client.Pixels(A1111Client.Png(await A1111Client.GenerateAsync(host, "img2img", request)));

        var prompt = CannyPrompt(await UploadAsync(host, "hint-a.png"));
        prompt["11"] = Node("VAEEncode", new JsonObject { ["pixels"] = Link("20", 0), ["vae"] = Link("4", 2) });
        prompt["3"] = Node("KSamplerAdvanced", new JsonObject
        {
            ["model"] = Link("4", 0), ["positive"] = Link("23", 0), ["negative"] = Link("23", 1), ["latent_image"] = Link("11", 0),
            ["add_noise"] = "enable", ["noise_seed"] = 9, ["steps"] = 4, ["cfg"] = 4, ["sampler_name"] = "euler", ["scheduler"] = "normal",
            // A1111's img2img: from step 4 − int(4 × 0.6) − 1 = 1.
            ["start_at_step"] = 1, ["end_at_step"] = 10000, ["return_with_leftover_noise"] = "disable",
        });
        Assert.Equal(await A1111Client.ComfyPixelsAsync(host, prompt), pixels);
    }

    [Fact]
    public async Task Detect_runs_the_module_as_ComfyUIs_Canny_at_the_processor_resolution()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var hint = await UploadAsync(host, "hint-a.png");
        async Task<byte[]> Detect(int resolution)
        {
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = "canny", ["controlnet_input_images"] = new JsonArray(Hint("hint-a.png")), ["controlnet_processor_res"] = resolution,
                ["controlnet_threshold_a"] = 80,
            });
            Assert.True(status == 200, body.ToJsonString());
            Assert.Equal("Success", body["info"]!.GetValue<string>());
            return Convert.FromBase64String(body["images"]![0]!.GetValue<string>());
        }

        JsonObject Canny(int? scale)
        {
            var prompt = Parse($$"""
                {
                  "20": { "class_type": "LoadImage", "inputs": { "image": "{{hint}}" } },
                  "21": { "class_type": "Canny", "inputs": { "image": ["20", 0], "low_threshold": {{(80.0 / 255).ToString("R", CultureInfo.InvariantCulture)}}, "high_threshold": {{(200.0 / 255).ToString("R", CultureInfo.InvariantCulture)}} } },
                  "9": { "class_type": "SaveImage", "inputs": { "images": ["21", 0], "filename_prefix": "canny" } }
                }
                """);
            if (scale is { } side)
            {
                prompt["22"] = Node("ImageScale", new JsonObject { ["image"] = Link("20", 0), ["upscale_method"] = "bicubic", ["width"] = side, ["height"] = side, ["crop"] = "disabled" });
                prompt["21"]!["inputs"]!["image"] = Link("22", 0);
            }

            return prompt;
        }

        var same = await Detect(64);
        Assert.Equal(ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Canny(null))), ClassMappingTests.Pixels(same));
        var scaled = await Detect(96);
        Assert.Equal(96, Images.Mean(scaled).Width);
        Assert.Equal(ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Canny(96))), ClassMappingTests.Pixels(scaled));

        var (code, error) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject { ["controlnet_module"] = "lineart_anime", ["controlnet_input_images"] = new JsonArray(Hint("hint-a.png")) });
        Assert.Equal(422, code);
        Assert.Equal("controlnet_module", error["field"]!.GetValue<string>());
        Assert.Contains("canny", error["detail"]!.GetValue<string>());
        (code, error) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject { ["controlnet_module"] = "canny" });
        Assert.Equal(422, code);
        Assert.Equal("controlnet_input_images", error["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Detect_runs_the_aux_modules_through_comfyui_controlnet_aux_classes_at_the_processor_resolution()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var hint = await UploadAsync(host, "hint-a.png");
        async Task<byte[]> Detect(string module, int resolution, double thresholdA)
        {
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = module, ["controlnet_input_images"] = new JsonArray(Hint("hint-a.png")), ["controlnet_processor_res"] = resolution,
                ["controlnet_threshold_a"] = thresholdA,
            });
            Assert.True(status == 200, body.ToJsonString());
            return ClassMappingTests.Pixels(Convert.FromBase64String(body["images"]![0]!.GetValue<string>()));
        }

        async Task<byte[]> Aux(string classType, JsonObject inputs)
        {
            inputs["image"] = Link("20", 0);
            var prompt = new JsonObject
            {
                ["20"] = Node("LoadImage", new JsonObject { ["image"] = hint }),
                ["21"] = Node(classType, inputs),
                ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("21", 0), ["filename_prefix"] = "aux" }),
            };
            return ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));
        }

        // The extension's lineart_standard: sigma 6, threshold 8, at the processor resolution (aux scales and pads itself).
        var lineart = await Detect("lineart_standard (from white bg & black line)", 96, -1);
        Assert.Equal(await Aux("LineartStandardPreprocessor", new JsonObject { ["guassian_sigma"] = 6.0, ["intensity_threshold"] = 8, ["resolution"] = 96 }), lineart);
        Assert.NotEqual(await Aux("LineartStandardPreprocessor", new JsonObject { ["guassian_sigma"] = 6.0, ["intensity_threshold"] = 8, ["resolution"] = 64 }), lineart);
        // XDoG's threshold is threshold_a.
        var xdog = await Detect("scribble_xdog", 80, 20);
        Assert.Equal(await Aux("Scribble_XDoG_Preprocessor", new JsonObject { ["threshold"] = 20, ["resolution"] = 80 }), xdog);
        Assert.NotEqual(await Aux("Scribble_XDoG_Preprocessor", new JsonObject { ["threshold"] = 32, ["resolution"] = 80 }), xdog);
        Assert.Equal(await Aux("BinaryPreprocessor", new JsonObject { ["bin_threshold"] = 0, ["resolution"] = 72 }), await Detect("binary", 72, -1));
        Assert.Equal(await Aux("ColorPreprocessor", new JsonObject { ["resolution"] = 128 }), await Detect("t2ia_color_grid", 128, -1));
    }

    [Fact]
    public void Units_wrap_the_conditioning_the_samplers_take_so_inpaintings_masked_image_conditioning_stays()
    {
        // With a mask the samplers take InpaintModelConditioning's outputs (a 9-channel UNet's masked image rides on them):
        // the units must wrap those, not the prompts' encodes.
        JsonObject Sampler() => Node("KSamplerAdvanced", new JsonObject { ["positive"] = Link("inpaint", 0), ["negative"] = Link("inpaint", 1), ["latent_image"] = Link("inpaint", 2) });
        var prompt = new JsonObject
        {
            ["positive"] = Node("CLIPTextEncode", new JsonObject()),
            ["negative"] = Node("CLIPTextEncode", new JsonObject()),
            ["inpaint"] = Node("InpaintModelConditioning", new JsonObject { ["positive"] = Link("positive", 0), ["negative"] = Link("negative", 0) }),
            ["sample_0"] = Sampler(),
            ["sample_1"] = Sampler(),
        };
        var units = A1111ControlNetUnit.Parse(Parse("""{ "controlnet": { "args": [ { "enabled": true, "module": "none", "model": "m", "image": "x" }, { "enabled": true, "module": "none", "model": "m", "image": "x" } ] } }"""));
        A1111ControlNet.AddTo(prompt, [.. units.Select(u => new A1111ControlNet.Input(u, "a.png", 64, 64, "m.safetensors", A1111ControlNetUnit.ResizeModes[0]))], 64, 64);

        var applies = prompt.Where(p => p.Value!["class_type"]!.GetValue<string>() == "ControlNetApplyAdvanced").Select(p => p.Key).ToList();
        Assert.Equal(2, applies.Count);
        var first = prompt[applies[0]]!["inputs"]!;
        Assert.Equal("""["inpaint",0]""", first["positive"]!.ToJsonString());
        Assert.Equal("""["inpaint",1]""", first["negative"]!.ToJsonString());
        Assert.Equal($"[\"{applies[0]}\",0]", prompt[applies[1]]!["inputs"]!["positive"]!.ToJsonString());
        foreach (var sampler in new[] { "sample_0", "sample_1" })
        {
            Assert.Equal($"[\"{applies[1]}\",0]", prompt[sampler]!["inputs"]!["positive"]!.ToJsonString());
            Assert.Equal($"[\"{applies[1]}\",1]", prompt[sampler]!["inputs"]!["negative"]!.ToJsonString());
            Assert.Equal("""["inpaint",2]""", prompt[sampler]!["inputs"]!["latent_image"]!.ToJsonString());
        }
    }

    [Fact]
    public async Task Detect_threshold_and_invert_give_the_extensions_values()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        // Upper half: min channel 110; lower half: 90.
        var image = Convert.ToBase64String(Images.SolidPng(64, 64, new SkiaSharp.SKColor(150, 120, 110), lowerHalf: new SkiaSharp.SKColor(200, 90, 220)));
        async Task<byte[]> Detect(string module, double threshold)
        {
            var (status, body) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
            {
                ["controlnet_module"] = module, ["controlnet_input_images"] = new JsonArray(image), ["controlnet_processor_res"] = 64, ["controlnet_threshold_a"] = threshold,
            });
            Assert.True(status == 200, body.ToJsonString());
            return A1111Client.Pixels(Convert.FromBase64String(body["images"]![0]!.GetValue<string>()));
        }

        // The extension's threshold: 255 where every channel is above threshold_a, strictly.
        foreach (var (threshold, upper, lower) in new[] { (100.0, 255, 0), (109.5, 255, 0), (110.0, 0, 0), (89.0, 255, 255), (90.0, 255, 0) })
        {
            var pixels = await Detect("threshold", threshold);
            Assert.True((pixels[0], pixels[1], pixels[2], pixels[4 * 64 * 63]) == ((byte)upper, (byte)upper, (byte)upper, (byte)lower), $"threshold {threshold}: {pixels[0]} {pixels[4 * 64 * 63]}");
            Assert.Equal(64 * 32, pixels.Where((_, i) => i % 4 == 0).Take(64 * 32).Count(p => p == upper));
        }

        var inverted = await Detect("invert (from white bg & black line)", -1);
        Assert.Equal(new byte[] { 105, 135, 145, 255 }, inverted[..4]);
        Assert.Equal(new byte[] { 55, 165, 35, 255 }, inverted[(4 * 64 * 63)..(4 * 64 * 63 + 4)]);
    }

    [Fact]
    public async Task The_extensions_routes_list_models_with_A1111s_short_hash_and_the_modules_in_its_order()
    {
        // A file over 1 MiB: A1111's short hash reads the 64 KiB at 1 MiB.
        var big = new byte[0x100000 + 0x18000];
        new Random(3).NextBytes(big);
        Directory.CreateDirectory(Path.Combine(_home.Folder, "models", "controlnet", "sub"));
        await File.WriteAllBytesAsync(Path.Combine(_home.Folder, "models", "controlnet", "sub", "big.pth"), big);
        await File.WriteAllBytesAsync(Path.Combine(_home.Folder, "models", "controlnet", "notes.txt"), [1]);
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);

        var models = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/model_list?update=true"))!["model_list"]!.AsArray().Select(m => m!.GetValue<string>());
        Assert.Equal([$"big [{Convert.ToHexStringLower(SHA256.HashData(big.AsSpan(0x100000, 0x10000)))[..8]}]", ModelTitle], models);
        Assert.Equal(3, JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/version"))!["version"]!.GetValue<int>());
        Assert.Equal(8, JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/settings"))!["control_net_unit_count"]!.GetValue<int>());

        var modules = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list"))!;
        // DWPose's ONNX files are not in models/annotators here, so dw_openpose_full is not offered.
        Assert.Equal(["none", "tile_resample", "recolor_luminance", "canny", "invert", "threshold", "color", "shuffle", "scribble_xdog", "recolor_intensity", "lineart_standard", "blur_gaussian", "binary"], modules["module_list"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal("""[{"name":"Resolution","value":512,"min":64,"max":2048,"step":8},{"name":"Low Threshold","value":100,"min":1,"max":255,"step":1},{"name":"High Threshold","value":200,"min":1,"max":255,"step":1}]""",
            modules["module_detail"]!["canny"]!["sliders"]!.ToJsonString());
        Assert.Equal("[]", modules["module_detail"]!["invert"]!["sliders"]!.ToJsonString());
        Assert.Equal("[{\"name\":\"Down Sampling Rate\",\"value\":1,\"min\":1,\"max\":8,\"step\":0.01}]", modules["module_detail"]!["tile_resample"]!["sliders"]!.ToJsonString());
        var aliases = JsonNode.Parse(await host.Client.GetStringAsync("/controlnet/module_list?alias_names=true"))!;
        Assert.Equal("invert (from white bg & black line)", aliases["module_list"]![4]!.GetValue<string>());
        Assert.NotNull(aliases["module_detail"]!["invert (from white bg & black line)"]);
    }

    [Fact]
    public void A_dw_openpose_full_unit_becomes_DWPreprocessor_on_the_image_at_its_resolution_and_is_offered_only_with_DWPoses_files()
    {
        var models = Path.Combine(_home.Folder, "models");
        var folders = new ComfyFolders(models, RepositoryRoot.Path, Path.Combine(_home.Folder, "input"));
        Assert.DoesNotContain(A1111ControlNetModules.Sorted(folders), m => m.Name == "dw_openpose_full");
        Directory.CreateDirectory(Path.Combine(models, "annotators"));
        foreach (var name in A1111ControlNetModules.DwPoseFiles) File.WriteAllBytes(Path.Combine(models, "annotators", name), [0]);
        Assert.Equal(["none", "tile_resample", "recolor_luminance", "canny", "invert", "threshold", "color", "shuffle", "scribble_xdog", "recolor_intensity", "lineart_standard", "dw_openpose_full", "blur_gaussian", "binary"], A1111ControlNetModules.Sorted(folders).Select(m => m.Name));

        var unit = CannyUnit();
        unit["module"] = "dw_openpose_full";
        unit["processor_res"] = 128;
        unit["pixel_perfect"] = false;
        var request = A1111Request.Parse(Txt2Img(unit), img2img: false);
        var prompt = A1111Prompt.Build(request, "sd1-tiny.safetensors", 1, 9, null, []);
        A1111ControlNet.AddTo(prompt, [new A1111ControlNet.Input(request.ControlNet[0], "hint.png", 64, 64, $"{Model}.safetensors", "Crop and Resize")], 64, 64);
        var conversion = ApiPromptConverter.Convert(prompt, folders, "a1111", requireFiles: false, promptSyntax: "a1111");

        Assert.Empty(conversion.NodeErrors);
        var workflow = conversion.Workflow!;
        var pose = workflow.Node(ApiPromptConverter.NodeId("cn_0_pose"))!;
        Assert.Equal("image.pose", pose.Type);
        Assert.Equal(ApiPromptConverter.NodeId("cn_0_scale"), pose.Edge("image")!.SourceNode);
        Assert.Equal((true, true, true), (Literal<bool>(pose, "body"), Literal<bool>(pose, "hands"), Literal<bool>(pose, "face")));
        Assert.EndsWith(Path.Combine("annotators", "yolox_l.onnx"), Literal<string>(pose, "detector"));
        Assert.EndsWith(Path.Combine("annotators", "dw-ll_ucoco_384.onnx"), Literal<string>(pose, "model"));
        // Scaled to 128² for the pose model, then back to the 64² target (area, center crop).
        Assert.Equal(128L, Convert.ToInt64(Literal<object>(workflow.Node(ApiPromptConverter.NodeId("cn_0_scale"))!, "width"), CultureInfo.InvariantCulture));
        Assert.Equal(pose.Id, workflow.Node(ApiPromptConverter.NodeId("cn_0_fit"))!.Edge("image")!.SourceNode);
    }

    private static T Literal<T>(WorkflowNode node, string parameter) => (T)((LiteralValue)node.Parameter(parameter)!.Value).Value!;

    [Fact]
    public async Task The_extensions_routes_are_behind_the_API_key_and_the_editor_protects_them()
    {
        await using var keyed = await ComfyHost.StartAsync(settings: new Dictionary<string, string?>(_home.Settings) { ["FlowDiffusion:Server:ApiKey"] = "k" });
        using (var refused = await keyed.Client.GetAsync("/controlnet/model_list"))
            Assert.Equal(401, (int)refused.StatusCode);
        var (status, _) = await A1111Client.PostRootAsync(keyed, "/controlnet/detect", new JsonObject { ["controlnet_module"] = "canny", ["controlnet_input_images"] = new JsonArray(Hint("hint-a.png")) });
        Assert.Equal(401, status);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/controlnet/model_list");
        request.Headers.Add("X-Api-Key", "k");
        using (var admitted = await keyed.Client.SendAsync(request))
            Assert.Equal(200, (int)admitted.StatusCode);
        Assert.True(FlowDiffusion.Comfy.Api.ComfyRoutes.IsComfyPath("/controlnet/detect"));
    }

    [Fact]
    public async Task Bad_units_are_refused_naming_their_field()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        const string unit0 = "alwayson_scripts.controlnet.args[0]";
        var cases = new (Action<JsonObject> Change, int Status, string Field, string Message)[]
        {
            (u => u["module"] = "depth_zoe", 422, unit0 + ".module", "invert"),
            (u => u["module"] = "inpaint_only", 422, unit0 + ".module", "predicted image"),
            (u => u["module"] = "inpaint_only+lama", 422, unit0 + ".module", "InpaintPreprocessor"),
            (u => u["model"] = "control_v11p_sd15_openpose [cab727d4]", 404, unit0 + ".model", ModelTitle),
            (u => u["model"] = "None", 422, unit0 + ".model", "model_list"),
            (u => u["weight"] = 2.5, 422, unit0 + ".weight", "0–2"),
            (u => u["weight"] = "heavy", 422, unit0 + ".weight", "number"),
            (u => (u["guidance_start"], u["guidance_end"]) = (0.8, 0.5), 422, unit0 + ".guidance_start", "after"),
            (u => u["guidance_end"] = 1.5, 422, unit0 + ".guidance_end", "0–1"),
            (u => u["control_mode"] = "ControlNet is more_important", 422, unit0 + ".control_mode", "\"ControlNet is more important\" (2)"),
            (u => u["control_mode"] = 3, 422, unit0 + ".control_mode", "1 (\"My prompt is more important\")"),
            (u => u["control_mode"] = -1, 422, unit0 + ".control_mode", "0 (\"Balanced\")"),
            (u => u["control_mode"] = true, 422, unit0 + ".control_mode", "Balanced"),
            (u => u["resize_mode"] = "Stretch", 422, unit0 + ".resize_mode", "Crop and Resize"),
            (u => u["resize_mode"] = 7, 422, unit0 + ".resize_mode", "Resize and Fill"),
            (u => u["image"] = "not an image!", 422, unit0 + ".image", "base64"),
            (u => u["image"] = 5, 422, unit0 + ".image", "base64"),
            (u => u.Remove("image"), 422, unit0 + ".image", "txt2img needs a control image"),
            (u => u["mask"] = Hint("hint-b.png"), 422, unit0 + ".mask", "mask"),
            (u => u["advanced_weighting"] = new JsonArray(1, 1), 422, unit0 + ".advanced_weighting", "per-layer"),
            (u => u["enabled"] = "maybe", 422, unit0 + ".enabled", "true or false"),
        };
        foreach (var (change, status, field, message) in cases)
        {
            var unit = CannyUnit();
            change(unit);
            var (code, body) = await A1111Client.PostAsync(host, "txt2img", Txt2Img(unit));
            Assert.True(status == code && field == body["field"]?.GetValue<string>(), $"{unit.ToJsonString()[..Math.Min(200, unit.ToJsonString().Length)]}: {code} {body.ToJsonString()}");
            Assert.Contains(message, body["detail"]!.GetValue<string>());
        }

        async Task Refused(JsonObject request, string field)
        {
            var (code, body) = await A1111Client.PostAsync(host, "txt2img", request);
            Assert.True(code == 422 && body["field"]?.GetValue<string>() == field, body.ToJsonString());
        }

        var positional = Txt2Img(CannyUnit());
        positional["alwayson_scripts"]!["controlnet"]!["args"]!.AsArray().Add(true);
        await Refused(positional, "alwayson_scripts.controlnet.args[1]");
        var other = Txt2Img(CannyUnit());
        other["alwayson_scripts"]!["ADetailer"] = new JsonObject { ["args"] = new JsonArray() };
        await Refused(other, "alwayson_scripts.ADetailer");
        var hires = CannyUnit();
        hires["hr_option"] = "Hires only";
        var hiresRequest = Txt2Img(hires);
        hiresRequest["enable_hr"] = true;
        await Refused(hiresRequest, unit0 + ".hr_option");
        await Refused(Txt2Img([.. Enumerable.Range(0, 9).Select(_ => CannyUnit())]), "alwayson_scripts.controlnet.args[8]");
        // The older title's case is the same script to A1111.
        var heavy = CannyUnit();
        heavy["weight"] = 9;
        var titled = Txt2Img();
        titled["alwayson_scripts"] = new JsonObject { ["ControlNet"] = new JsonObject { ["args"] = new JsonArray(heavy) } };
        await Refused(titled, "alwayson_scripts.ControlNet.args[0].weight");
    }
}
