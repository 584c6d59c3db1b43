using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>Every mapped ComfyUI class, run end to end on analytic-sd, whose output colour is known in closed form.</summary>
public sealed class ClassMappingTests
{
    [Theory]
    [InlineData("euler", "normal")]
    [InlineData("euler_ancestral", "karras")]
    [InlineData("heun", "exponential")]
    [InlineData("dpm_2", "sgm_uniform")]
    [InlineData("dpm_2_ancestral", "simple")]
    [InlineData("lms", "ddim_uniform")]
    [InlineData("dpmpp_2m", "beta")]
    [InlineData("lcm", "normal")]
    [InlineData("ddim", "ddim_uniform")]
    [InlineData("dpmpp_sde", "karras")]
    [InlineData("dpmpp_2m_sde", "karras")]
    [InlineData("dpmpp_2m_sde_gpu", "exponential")]
    [InlineData("uni_pc", "karras")]
    [InlineData("uni_pc_bh2", "normal")]
    [InlineData("dpmpp_2s_ancestral", "karras")]
    [InlineData("dpmpp_2m_sde_heun", "normal")]
    [InlineData("dpmpp_3m_sde", "kl_optimal")]
    [InlineData("dpmpp_3m_sde_gpu", "karras")]
    [InlineData("ddpm", "simple")]
    [InlineData("ipndm", "linear_quadratic")]
    [InlineData("ipndm_v", "kl_optimal")]
    [InlineData("res_multistep", "karras")]
    [InlineData("res_multistep_ancestral", "exponential")]
    [InlineData("heunpp2", "karras")]
    [InlineData("gradient_estimation", "normal")]
    [InlineData("deis", "karras")]
    [InlineData("deis", "simple")]
    [InlineData("er_sde", "karras")]
    [InlineData("seeds_2", "normal")]
    [InlineData("seeds_3", "karras")]
    [InlineData("dpm_fast", "karras")]
    [InlineData("dpm_adaptive", "normal")]
    [InlineData("euler_cfg_pp", "normal")]
    [InlineData("euler_ancestral_cfg_pp", "karras")]
    [InlineData("dpmpp_2s_ancestral_cfg_pp", "karras")]
    [InlineData("dpmpp_2m_cfg_pp", "exponential")]
    [InlineData("res_multistep_cfg_pp", "normal")]
    [InlineData("res_multistep_ancestral_cfg_pp", "karras")]
    [InlineData("gradient_estimation_cfg_pp", "simple")]
    [InlineData("sa_solver", "karras")]
    [InlineData("sa_solver_pece", "normal")]
    public async Task Every_sampler_and_schedule_draws_the_prompt_colour(string sampler, string scheduler)
    {
        await using var host = await ComfyHost.StartAsync();
        var (r, g, b) = await RunAsync(host, Prompts.Txt2Img(text: "a red ball", steps: 5, sampler: sampler, scheduler: scheduler));
        // dpm_fast and dpm_adaptive stop at the schedule's last sigma above 0 (0.03 here), as ComfyUI's do: the noise left
        // there, clipped at 0 and 1, pulls the mean colour in by a few hundredths.
        var tolerance = sampler is "dpm_fast" or "dpm_adaptive" ? 0.05 : 0.02;
        Assert.True(r > 1 - tolerance && g < tolerance && b < tolerance, $"{sampler}/{scheduler}: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Theory]
    [InlineData("SamplerEulerAncestral", """{ "eta": 0.5, "s_noise": 0.8 }""")]
    [InlineData("SamplerDPMPP_2S_Ancestral", """{ "eta": 0.7, "s_noise": 1.1 }""")]
    [InlineData("SamplerDPMPP_SDE", """{ "eta": 0.6, "s_noise": 0.9, "r": 0.3, "noise_device": "cpu" }""")]
    [InlineData("SamplerDPMPP_2M_SDE", """{ "solver_type": "heun", "eta": 0.5, "s_noise": 1, "noise_device": "gpu" }""")]
    [InlineData("SamplerDPMPP_3M_SDE", """{ "eta": 0.4, "s_noise": 1.2, "noise_device": "cpu" }""")]
    [InlineData("SamplerLMS", """{ "order": 2 }""")]
    [InlineData("SamplerDPMAdaptative", """{ "order": 2, "rtol": 0.02, "atol": 0.005, "h_init": 0.1, "pcoeff": 0.1, "icoeff": 0.9, "dcoeff": 0.05, "accept_safety": 0.8, "eta": 0.3, "s_noise": 0.9 }""")]
    [InlineData("SamplerSASolver", """{ "model": ["4", 0], "eta": 0.7, "sde_start_percent": 0.1, "sde_end_percent": 0.9, "s_noise": 0.9, "predictor_order": 4, "corrector_order": 2, "use_pece": true, "simple_order_2": false }""")]
    public async Task Sampler_nodes_with_settings_draw_the_prompt_colour_through_sampler_custom(string classType, string inputs)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(text: "a red ball");
        prompt["3"] = new JsonObject { ["class_type"] = "SamplerCustom", ["inputs"] = new JsonObject
        {
            ["model"] = Link("4", 0), ["add_noise"] = true, ["noise_seed"] = 3, ["cfg"] = 1, ["positive"] = Link("6", 0), ["negative"] = Link("7", 0),
            ["sampler"] = Link("11", 0), ["sigmas"] = Link("12", 0), ["latent_image"] = Link("5", 0),
        } };
        prompt["11"] = new JsonObject { ["class_type"] = classType, ["inputs"] = JsonNode.Parse(inputs) };
        prompt["12"] = new JsonObject { ["class_type"] = "BasicScheduler", ["inputs"] = new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = "karras", ["steps"] = 5, ["denoise"] = 1 } };
        var (r, g, b) = await RunAsync(host, prompt);
        // dpm_adaptive leaves the last sigma above 0 of noise (see Every_sampler_and_schedule_draws_the_prompt_colour).
        var tolerance = classType == "SamplerDPMAdaptative" ? 0.05 : 0.02;
        Assert.True(r > 1 - tolerance && g < tolerance && b < tolerance, $"{classType} {inputs}: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task Cfg_scale_and_conditioning_combine_follow_the_closed_form()
    {
        await using var host = await ComfyHost.StartAsync();
        // CFG s with an empty negative (grey u = 0.5): u + s·(c − u). Red at 1.5 → (1.25, −0.25, −0.25), clamped.
        var (r, g, b) = await RunAsync(host, Prompts.Txt2Img(text: "a blue ball", cfg: 1.5, steps: 4));
        Assert.True(r < 0.02 && g < 0.02 && b > 0.98, $"cfg: ({r:F3}, {g:F3}, {b:F3})");
        // ConditioningCombine of "red" and "blue green" averages the model's predictions, as ComfyUI does: the analytic
        // UNet's x0 is linear in each prompt's mean colour, so the result is (red + (blue + green)/2)/2 = (0.5, 0.25, 0.25).
        // Averaging the embeddings instead would give (1/3, 1/3, 1/3): the mean colour is a ratio over the tokens.
        var prompt = Prompts.Txt2Img(text: "red", steps: 4);
        prompt["10"] = new JsonObject { ["class_type"] = "CLIPTextEncode", ["inputs"] = new JsonObject { ["clip"] = Link("11", 0), ["text"] = "blue green" } };
        prompt["11"] = new JsonObject { ["class_type"] = "CLIPSetLastLayer", ["inputs"] = new JsonObject { ["clip"] = Link("4", 1), ["stop_at_clip_layer"] = -1 } };
        prompt["12"] = new JsonObject { ["class_type"] = "ConditioningCombine", ["inputs"] = new JsonObject { ["conditioning_1"] = Link("6", 0), ["conditioning_2"] = Link("10", 0) } };
        prompt["3"]!["inputs"]!["positive"] = Link("12", 0);
        (r, g, b) = await RunAsync(host, prompt);
        Assert.True(Math.Abs(r - 0.5) < 0.02 && Math.Abs(g - 0.25) < 0.02 && Math.Abs(b - 0.25) < 0.02, $"combine: ({r:F3}, {g:F3}, {b:F3})");
        // With CFG 1.5 and the empty negative (grey): 0.5 + 1.5·(c − 0.5) = (0.5, 0.125, 0.125), one batched call
        // (averaged embeddings would give 0.25 everywhere).
        prompt["3"]!["inputs"]!["cfg"] = 1.5;
        (r, g, b) = await RunAsync(host, prompt);
        Assert.True(Math.Abs(r - 0.5) < 0.02 && Math.Abs(g - 0.125) < 0.02 && Math.Abs(b - 0.125) < 0.02, $"combine, cfg 1.5: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task Image_invert_turns_the_decoded_colour_into_one_minus_it()
    {
        await using var host = await ComfyHost.StartAsync();
        // "red" combined with "blue green" decodes to (0.5, 0.25, 0.25) (see above); inverted, (0.5, 0.75, 0.75).
        var prompt = Prompts.Txt2Img(text: "red", steps: 4);
        prompt["10"] = new JsonObject { ["class_type"] = "CLIPTextEncode", ["inputs"] = new JsonObject { ["clip"] = Link("4", 1), ["text"] = "blue green" } };
        prompt["12"] = new JsonObject { ["class_type"] = "ConditioningCombine", ["inputs"] = new JsonObject { ["conditioning_1"] = Link("6", 0), ["conditioning_2"] = Link("10", 0) } };
        prompt["3"]!["inputs"]!["positive"] = Link("12", 0);
        prompt["13"] = new JsonObject { ["class_type"] = "ImageInvert", ["inputs"] = new JsonObject { ["image"] = Link("8", 0) } };
        prompt["9"]!["inputs"]!["images"] = Link("13", 0);
        var (r, g, b) = await RunAsync(host, prompt);
        Assert.True(Math.Abs(r - 0.5) < 0.02 && Math.Abs(g - 0.75) < 0.02 && Math.Abs(b - 0.75) < 0.02, $"inverted: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task Img2img_with_uploaded_image_and_denoise_reaches_the_prompt_colour_and_denoise_zero_keeps_the_image()
    {
        await using var host = await ComfyHost.StartAsync();
        var name = await UploadAsync(host, "/upload/image", "photo.png", Images.SolidPng(64, 64, new SKColor(255, 255, 0)));
        var prompt = Img2Img(name, denoise: 0.6);
        var (r, g, b) = await RunAsync(host, prompt);
        Assert.True(r < 0.02 && g < 0.02 && b > 0.98, $"img2img: ({r:F3}, {g:F3}, {b:F3})");
        (r, g, b) = await RunAsync(host, Img2Img(name, denoise: 0));
        Assert.True(r > 0.98 && g > 0.98 && b < 0.02, $"denoise 0 keeps the yellow image: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task Inpainting_repaints_only_under_the_mask_with_VAEEncodeForInpaint_and_SetLatentNoiseMask()
    {
        await using var host = await ComfyHost.StartAsync();
        var image = await UploadAsync(host, "/upload/image", "red.png", Images.SolidPng(64, 64, new SKColor(255, 0, 0)));
        var mask = await UploadAsync(host, "/upload/image", "lower.png", Images.SolidPng(64, 64, SKColors.Black, SKColors.White));
        foreach (var encoder in new[] { "VAEEncodeForInpaint", "SetLatentNoiseMask" })
        {
            var prompt = Img2Img(image, denoise: 1);
            prompt["20"] = new JsonObject { ["class_type"] = "LoadImageMask", ["inputs"] = new JsonObject { ["image"] = mask, ["channel"] = "red" } };
            prompt["13"] = encoder == "VAEEncodeForInpaint"
                ? new JsonObject { ["class_type"] = encoder, ["inputs"] = new JsonObject { ["pixels"] = Link("12", 0), ["vae"] = Link("4", 2), ["mask"] = Link("20", 0), ["grow_mask_by"] = 0 } }
                : new JsonObject { ["class_type"] = encoder, ["inputs"] = new JsonObject { ["samples"] = Link("21", 0), ["mask"] = Link("20", 0) } };
            prompt["21"] = new JsonObject { ["class_type"] = "VAEEncode", ["inputs"] = new JsonObject { ["pixels"] = Link("12", 0), ["vae"] = Link("4", 2) } };
            var bytes = await RunForImageAsync(host, prompt);
            using var bitmap = SKBitmap.Decode(bytes);
            var top = bitmap.GetPixel(32, 8);
            var bottom = bitmap.GetPixel(32, 56);
            Assert.True(top is { Red: > 250, Green: < 5, Blue: < 5 }, $"{encoder}: kept region {top}");
            Assert.True(bottom is { Red: < 5, Green: < 5, Blue: > 250 }, $"{encoder}: repainted region {bottom}");
        }
    }

    [Theory]
    // The drawn mask covers the lower half (rows 32–63); rows 8, 24, 40 and 56 are sampled: 1 repainted (blue), 0 kept (red).
    [InlineData("invert", "1100")]
    [InlineData("grow 16", "0111")]
    [InlineData("grow 16 square", "0111")]
    [InlineData("grow -16", "0001")]
    [InlineData("threshold 0.4 at 0.5", "0000")]
    [InlineData("threshold 0.4 at 0.3", "1111")]
    public async Task Mask_classes_change_what_inpainting_repaints(string operation, string repainted)
    {
        await using var host = await ComfyHost.StartAsync();
        var image = await UploadAsync(host, "/upload/image", "red.png", Images.SolidPng(64, 64, new SKColor(255, 0, 0)));
        var lower = await UploadAsync(host, "/upload/image", "lower.png", Images.SolidPng(64, 64, SKColors.Black, SKColors.White));
        var prompt = Img2Img(image, denoise: 1);
        prompt["20"] = new JsonObject { ["class_type"] = "LoadImageMask", ["inputs"] = new JsonObject { ["image"] = lower, ["channel"] = "red" } };
        prompt["21"] = new JsonObject { ["class_type"] = "VAEEncode", ["inputs"] = new JsonObject { ["pixels"] = Link("12", 0), ["vae"] = Link("4", 2) } };
        prompt["22"] = operation.Split(' ') switch
        {
            ["invert"] => new JsonObject { ["class_type"] = "InvertMask", ["inputs"] = new JsonObject { ["mask"] = Link("20", 0) } },
            ["grow", var steps, .. var shape] => new JsonObject { ["class_type"] = "GrowMask", ["inputs"] = new JsonObject
                { ["mask"] = Link("20", 0), ["expand"] = int.Parse(steps, System.Globalization.CultureInfo.InvariantCulture), ["tapered_corners"] = shape.Length == 0 } },
            [_, _, _, var at] => new JsonObject { ["class_type"] = "ThresholdMask", ["inputs"] = new JsonObject
                { ["mask"] = Link("23", 0), ["value"] = double.Parse(at, System.Globalization.CultureInfo.InvariantCulture) } },
            _ => throw new ArgumentException(operation),
        };
        if (operation.StartsWith("threshold", StringComparison.Ordinal))
        {
            var solid = double.Parse(operation.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            prompt["23"] = new JsonObject { ["class_type"] = "SolidMask", ["inputs"] = new JsonObject { ["value"] = solid, ["width"] = 64, ["height"] = 64 } };
        }

        prompt["13"] = new JsonObject { ["class_type"] = "SetLatentNoiseMask", ["inputs"] = new JsonObject { ["samples"] = Link("21", 0), ["mask"] = Link("22", 0) } };
        using var bitmap = SKBitmap.Decode(await RunForImageAsync(host, prompt));
        var rows = new[] { 8, 24, 40, 56 };
        var seen = string.Concat(rows.Select(y => bitmap.GetPixel(32, y) switch
        {
            { Red: < 5, Green: < 5, Blue: > 250 } => '1',
            { Red: > 250, Green: < 5, Blue: < 5 } => '0',
            var other => throw new Xunit.Sdk.XunitException($"{operation}: row {y} is {other}, neither kept red nor repainted blue"),
        }));
        Assert.Equal(repainted, seen);
    }

    [Fact]
    public async Task LoadImage_mask_of_an_image_without_alpha_is_zero_at_the_image_size_so_inpainting_with_it_repaints_nothing()
    {
        // ComfyUI gives an RGB file a 64×64 zero mask, which its inpaint nodes resize to anything: nothing is repainted.
        // Ours is zero at the image's own size (96×64 here), which our size-checked mask inputs accept, with the same result.
        var info = new SKImageInfo(96, 64, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        bitmap.Erase(new SKColor(255, 0, 0));
        byte[] rgb;
        using (var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)) rgb = data.ToArray();
        Assert.Equal(2, rgb[25]); // IHDR colour type 2: truecolour, no alpha channel
        await using var host = await ComfyHost.StartAsync();
        var image = await UploadAsync(host, "/upload/image", "opaque.png", rgb);
        foreach (var encoder in new[] { "VAEEncodeForInpaint", "SetLatentNoiseMask" })
        {
            var prompt = Img2Img(image, denoise: 1);
            prompt["21"] = new JsonObject { ["class_type"] = "VAEEncode", ["inputs"] = new JsonObject { ["pixels"] = Link("12", 0), ["vae"] = Link("4", 2) } };
            prompt["13"] = encoder == "VAEEncodeForInpaint"
                ? new JsonObject { ["class_type"] = encoder, ["inputs"] = new JsonObject { ["pixels"] = Link("12", 0), ["vae"] = Link("4", 2), ["mask"] = Link("12", 1), ["grow_mask_by"] = 6 } }
                : new JsonObject { ["class_type"] = encoder, ["inputs"] = new JsonObject { ["samples"] = Link("21", 0), ["mask"] = Link("12", 1) } };
            var (r, g, b, width, height) = Images.Mean(await RunForImageAsync(host, prompt));
            Assert.Equal((96, 64), (width, height));
            // Unmasked, denoise 1 would paint the prompt's blue; the zero mask keeps the red image.
            Assert.True(r > 0.98 && g < 0.02 && b < 0.02, $"{encoder}: ({r:F3}, {g:F3}, {b:F3})");
        }
    }

    [Fact]
    public async Task KSamplerAdvanced_two_stages_with_leftover_noise_finish_like_one_and_preview_writes_a_temp_image()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(text: "a green ball", steps: 6);
        JsonObject Advanced(string addNoise, JsonNode latent, int start, int end, string leftover) => new()
        {
            ["class_type"] = "KSamplerAdvanced",
            ["inputs"] = new JsonObject
            {
                ["model"] = Link("4", 0), ["add_noise"] = addNoise, ["noise_seed"] = 7, ["steps"] = 6, ["cfg"] = 1, ["sampler_name"] = "euler",
                ["scheduler"] = "karras", ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["latent_image"] = latent,
                ["start_at_step"] = start, ["end_at_step"] = end, ["return_with_leftover_noise"] = leftover,
            },
        };
        prompt["3"] = Advanced("enable", Link("5", 0), 0, 3, "enable");
        prompt["30"] = Advanced("disable", Link("3", 0), 3, 10000, "disable");
        prompt["8"]!["inputs"]!["samples"] = Link("30", 0);
        prompt["9"] = new JsonObject { ["class_type"] = "PreviewImage", ["inputs"] = new JsonObject { ["images"] = Link("8", 0) } };
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.True(status == 200, body.ToJsonString());
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        var image = history["outputs"]!["9"]!["images"]![0]!;
        Assert.Equal("temp", image["type"]!.GetValue<string>());
        var bytes = await host.Client.GetByteArrayAsync($"/view?filename={image["filename"]}&subfolder={image["subfolder"]}&type=temp");
        var (r, g, b, _, _) = Images.Mean(bytes);
        Assert.True(r < 0.02 && g > 0.98 && b < 0.02, $"({r:F3}, {g:F3}, {b:F3})");
    }

    [Theory]
    [InlineData("LoraLoader", "'x.safetensors' not in")]
    [InlineData("VAELoader", "'vae.safetensors' not in")]
    [InlineData("UNETLoader", "'unet.safetensors' not in")]
    public async Task Unsupported_classes_and_missing_lora_or_vae_files_are_node_errors_naming_them(string classType, string why)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img();
        prompt["40"] = classType switch
        {
            "LoraLoader" => new JsonObject { ["class_type"] = classType, ["inputs"] = new JsonObject { ["model"] = Link("4", 0), ["clip"] = Link("4", 1), ["lora_name"] = "x.safetensors", ["strength_model"] = 1, ["strength_clip"] = 1 } },
            "VAELoader" => new JsonObject { ["class_type"] = classType, ["inputs"] = new JsonObject { ["vae_name"] = "vae.safetensors" } },
            _ => new JsonObject { ["class_type"] = classType, ["inputs"] = new JsonObject { ["unet_name"] = "unet.safetensors", ["weight_dtype"] = "default" } },
        };
        var consumer = classType == "VAELoader" ? ("8", "vae", Link("40", 0)) : ("3", "model", Link("40", 0));
        prompt[consumer.Item1]!["inputs"]![consumer.Item2] = consumer.Item3;
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        var error = body["node_errors"]!["40"]!;
        Assert.Equal(classType, error["class_type"]!.GetValue<string>());
        Assert.Contains(why, error["errors"]![0]!["details"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("sd15.ckpt")]
    [InlineData("old/sd15.pt")]
    public void A_pytorch_checkpoint_is_listed_and_loads_by_its_name(string name)
    {
        var models = Path.Combine(Path.GetTempPath(), "fd-comfy-models-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(models, "checkpoints", "old"));
            File.WriteAllBytes(Path.Combine(models, "checkpoints", name), [0]);
            File.WriteAllBytes(Path.Combine(models, "checkpoints", "notes.txt"), [0]);
            var folders = new ComfyFolders(models, RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));
            if (!name.Contains('/', StringComparison.Ordinal)) Assert.Equal([name], folders.Checkpoints());
            var prompt = Prompts.Txt2Img();
            prompt["4"]!["inputs"]!["ckpt_name"] = name;

            var conversion = ApiPromptConverter.Convert(prompt, folders, requireFiles: false);

            Assert.Empty(conversion.NodeErrors);
            Assert.EndsWith("checkpoints/" + name, ((string)((LiteralValue)conversion.Workflow!.Node(ApiPromptConverter.NodeId("4"))!.Parameter("path")!.Value).Value!).Replace('\\', '/'));
        }
        finally
        {
            Directory.Delete(models, recursive: true);
        }
    }

    [Fact]
    public void A_safetensors_checkpoint_lora_loader_and_vae_loader_map_to_model_load_lora_apply_and_vae_load_with_files_from_their_model_folders()
    {
        var models = Path.Combine(Path.GetTempPath(), "fd-comfy-models-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(models, "loras", "styles"));
            Directory.CreateDirectory(Path.Combine(models, "vae"));
            File.WriteAllBytes(Path.Combine(models, "loras", "styles", "ink.safetensors"), [0]);
            File.WriteAllBytes(Path.Combine(models, "vae", "ft-mse.safetensors"), [0]);
            Directory.CreateDirectory(Path.Combine(models, "checkpoints"));
            File.WriteAllBytes(Path.Combine(models, "checkpoints", "civitai.safetensors"), [0]);
            var folders = new ComfyFolders(models, RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));
            Assert.Contains("civitai.safetensors", folders.Checkpoints());
            var prompt = Prompts.Txt2Img();
            prompt["4"]!["inputs"]!["ckpt_name"] = "civitai.safetensors";
            prompt["40"] = new JsonObject { ["class_type"] = "LoraLoader", ["inputs"] = new JsonObject { ["model"] = Link("4", 0), ["clip"] = Link("4", 1),
                ["lora_name"] = "styles/ink.safetensors", ["strength_model"] = 0.75, ["strength_clip"] = 0.5 } };
            prompt["41"] = new JsonObject { ["class_type"] = "VAELoader", ["inputs"] = new JsonObject { ["vae_name"] = "ft-mse.safetensors" } };
            prompt["3"]!["inputs"]!["model"] = Link("40", 0);
            prompt["6"]!["inputs"]!["clip"] = Link("40", 1);
            prompt["8"]!["inputs"]!["vae"] = Link("41", 0);

            var conversion = ApiPromptConverter.Convert(prompt, folders, requireFiles: false);

            Assert.Empty(conversion.NodeErrors);
            var workflow = conversion.Workflow!;
            Assert.EndsWith("checkpoints/civitai.safetensors", ((string)((LiteralValue)workflow.Node(ApiPromptConverter.NodeId("4"))!.Parameter("path")!.Value).Value!).Replace('\\', '/'));
            Assert.Empty(conversion.Warnings);
            var lora = workflow.Node(ApiPromptConverter.NodeId("40"))!;
            Assert.Equal("lora.apply", lora.Type);
            Assert.Equal(Path.Combine(models, "loras", "styles", "ink.safetensors"), Path.GetFullPath((string)((LiteralValue)lora.Parameter("path")!.Value).Value!, RepositoryRoot.Path));
            Assert.Equal(0.75, ((LiteralValue)lora.Parameter("strength_model")!.Value).Value);
            Assert.Equal(0.5, ((LiteralValue)lora.Parameter("strength_clip")!.Value).Value);
            Assert.Equal(ApiPromptConverter.NodeId("4"), lora.Edge("unet")!.SourceNode);
            Assert.Equal(ApiPromptConverter.NodeId("4"), lora.Edge("clip")!.SourceNode);
            // The positive prompt's encoder reads the LoRA's text encoder; the negative one still reads the loader's.
            Assert.Equal(ApiPromptConverter.NodeId("40"), workflow.Node(ApiPromptConverter.NodeId("6"))!.Edge("clip")!.SourceNode);
            Assert.Equal("clip_out", workflow.Node(ApiPromptConverter.NodeId("6"))!.Edge("clip")!.SourceOutput);
            Assert.Equal(ApiPromptConverter.NodeId("4"), workflow.Node(ApiPromptConverter.NodeId("7"))!.Edge("clip")!.SourceNode);
            var vae = workflow.Node(ApiPromptConverter.NodeId("41"))!;
            Assert.Equal("vae.load", vae.Type);
            Assert.EndsWith("vae/ft-mse.safetensors", ((string)((LiteralValue)vae.Parameter("path")!.Value).Value!).Replace('\\', '/'));
            Assert.Equal(ApiPromptConverter.NodeId("41"), workflow.Node(ApiPromptConverter.NodeId("8"))!.Edge("vae")!.SourceNode);
        }
        finally
        {
            Directory.Delete(models, recursive: true);
        }
    }

    [Fact]
    public void Clip_set_last_layer_minus_two_sets_clip_skip_2_on_the_text_encodes_it_feeds_only()
    {
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));
        var prompt = Prompts.Txt2Img();
        prompt["11"] = new JsonObject { ["class_type"] = "CLIPSetLastLayer", ["inputs"] = new JsonObject { ["clip"] = Link("4", 1), ["stop_at_clip_layer"] = -2 } };
        prompt["6"]!["inputs"]!["clip"] = Link("11", 0);

        var conversion = ApiPromptConverter.Convert(prompt, folders, requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var workflow = conversion.Workflow!;
        var positive = workflow.Node(ApiPromptConverter.NodeId("6"))!;
        Assert.Equal("clip.encode", positive.Type);
        Assert.Equal(2L, ((LiteralValue)positive.Parameter("clip_skip")!.Value).Value);
        Assert.Equal(ApiPromptConverter.NodeId("4"), positive.Edge("clip")!.SourceNode);
        // The negative prompt reads the loader's CLIP directly: the last layer, no parameter.
        Assert.Null(workflow.Node(ApiPromptConverter.NodeId("7"))!.Parameter("clip_skip"));
        Assert.Null(workflow.Node(ApiPromptConverter.NodeId("11")));
    }

    [Fact]
    public async Task Clip_skip_beyond_two_is_a_node_error_not_a_substitute()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img();
        prompt["11"] = new JsonObject { ["class_type"] = "CLIPSetLastLayer", ["inputs"] = new JsonObject { ["clip"] = Link("4", 1), ["stop_at_clip_layer"] = -3 } };
        prompt["6"]!["inputs"]!["clip"] = Link("11", 0);
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        var details = body["node_errors"]!["11"]!["errors"]![0]!["details"]!.GetValue<string>();
        Assert.Contains("stop_at_clip_layer: -3", details);
        Assert.Contains("-2", details);
    }

    [Fact]
    public async Task Upload_keeps_the_name_numbers_a_duplicate_and_refuses_non_images()
    {
        await using var host = await ComfyHost.StartAsync();
        var png = Images.SolidPng(8, 8, SKColors.Red);
        Assert.Equal("x.png", await UploadAsync(host, "/upload/image", "x.png", png, overwrite: false));
        Assert.Equal("x (1).png", await UploadAsync(host, "/upload/image", "x.png", png, overwrite: false));
        using var form = new MultipartFormDataContent { { new ByteArrayContent("not an image"u8.ToArray()), "image", "evil.png" } };
        using var response = await host.Client.PostAsync("/upload/image", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var traversal = new MultipartFormDataContent { { new ByteArrayContent(png), "image", "y.png" }, { new StringContent("../../etc"), "subfolder" } };
        using var refused = await host.Client.PostAsync("/upload/image", traversal);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var view = await host.Client.GetAsync("/view?filename=x.png&type=input");
        Assert.Equal("image/png", view.Content.Headers.ContentType!.MediaType);
        using var outside = await host.Client.GetAsync("/view?filename=passwd&subfolder=../../../../etc&type=output");
        Assert.Equal(HttpStatusCode.NotFound, outside.StatusCode);
    }

    [Fact]
    public async Task LatentUpscale_hires_pass_and_ImageScale_give_the_requested_sizes_and_colour()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(text: "a red ball", steps: 4, size: 64);
        prompt["20"] = new JsonObject { ["class_type"] = "LatentUpscale", ["inputs"] = new JsonObject { ["samples"] = Link("3", 0), ["upscale_method"] = "bilinear", ["width"] = 128, ["height"] = 96, ["crop"] = "disabled" } };
        prompt["21"] = new JsonObject { ["class_type"] = "KSampler", ["inputs"] = new JsonObject
        {
            ["model"] = Link("4", 0), ["seed"] = 3, ["steps"] = 4, ["cfg"] = 1, ["sampler_name"] = "euler", ["scheduler"] = "normal",
            ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["latent_image"] = Link("20", 0), ["denoise"] = 0.5,
        } };
        prompt["8"]!["inputs"]!["samples"] = Link("21", 0);
        prompt["22"] = new JsonObject { ["class_type"] = "ImageScale", ["inputs"] = new JsonObject { ["image"] = Link("8", 0), ["upscale_method"] = "area", ["width"] = 64, ["height"] = 0, ["crop"] = "disabled" } };
        prompt["9"]!["inputs"]!["images"] = Link("22", 0);
        var (r, g, b, width, height) = Images.Mean(await RunForImageAsync(host, prompt));
        Assert.Equal((64, 48), (width, height));
        Assert.True(r > 0.98 && g < 0.02 && b < 0.02, $"({r:F3}, {g:F3}, {b:F3})");

        // ComfyUI offers lanczos on images only (bislerp on latents only).
        prompt["20"]!["inputs"]!["upscale_method"] = "lanczos";
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Contains("lanczos", body["node_errors"]!["20"]!["errors"]![0]!["details"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("bilinear", 4, new[] { 0, 64, 191, 255 })]
    [InlineData("nearest-exact", 3, new[] { 0, 255, 255 })]
    [InlineData("area", 1, new[] { 128 })]
    public async Task ImageScale_interpolates_as_torch_interpolate_does(string method, int width, int[] expected)
    {
        await using var host = await ComfyHost.StartAsync();
        using var bitmap = new SKBitmap(2, 1);
        bitmap.SetPixel(0, 0, SKColors.Black);
        bitmap.SetPixel(1, 0, SKColors.White);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var name = await UploadAsync(host, "/upload/image", "ramp.png", data.ToArray());
        var prompt = new JsonObject
        {
            ["1"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } },
            ["2"] = new JsonObject { ["class_type"] = "ImageScale", ["inputs"] = new JsonObject { ["image"] = Link("1", 0), ["upscale_method"] = method, ["width"] = width, ["height"] = 1, ["crop"] = "disabled" } },
            ["9"] = new JsonObject { ["class_type"] = "SaveImage", ["inputs"] = new JsonObject { ["images"] = Link("2", 0), ["filename_prefix"] = "ramp" } },
        };
        using var result = SKBitmap.Decode(await RunForImageAsync(host, prompt));
        Assert.Equal(expected, Enumerable.Range(0, result.Width).Select(x => (int)result.GetPixel(x, 0).Red));
    }

    [Fact]
    public async Task A_9_channel_inpainting_model_reads_the_rounded_noise_mask_and_the_samplers_latents_as_in_ComfyUI()
    {
        // analytic-sd-inpaint's x0 is mask · colour + (1 − mask) · masked image, from its extra input channels.
        await using var host = await ComfyHost.StartAsync();
        var image = await UploadAsync(host, "/upload/image", "red.png", Images.SolidPng(64, 64, new SKColor(255, 0, 0)));
        var lower = await UploadAsync(host, "/upload/image", "lower.png", Images.SolidPng(64, 64, SKColors.Black, SKColors.White));
        var soft = await UploadAsync(host, "/upload/image", "soft.png", Images.SolidPng(64, 64, new SKColor(204, 204, 204)));
        JsonObject Inpaint(string? mask, string encoder)
        {
            var prompt = Img2Img(image, denoise: 1);
            prompt["4"]!["inputs"]!["ckpt_name"] = "analytic-sd-inpaint";
            if (mask is null) return prompt;
            prompt["20"] = new JsonObject { ["class_type"] = "LoadImageMask", ["inputs"] = new JsonObject { ["image"] = mask, ["channel"] = "red" } };
            prompt["13"] = encoder == "VAEEncodeForInpaint"
                ? new JsonObject { ["class_type"] = encoder, ["inputs"] = new JsonObject { ["pixels"] = Link("12", 0), ["vae"] = Link("4", 2), ["mask"] = Link("20", 0), ["grow_mask_by"] = 0 } }
                : new JsonObject { ["class_type"] = encoder, ["inputs"] = new JsonObject { ["samples"] = Link("21", 0), ["mask"] = Link("20", 0) } };
            prompt["21"] = new JsonObject { ["class_type"] = "VAEEncode", ["inputs"] = new JsonObject { ["pixels"] = Link("12", 0), ["vae"] = Link("4", 2) } };
            return prompt;
        }

        // ComfyUI's inpainting example: VAEEncodeForInpaint, then KSampler; the blue prompt lands under the mask only.
        using (var bitmap = SKBitmap.Decode(await RunForImageAsync(host, Inpaint(lower, "VAEEncodeForInpaint"))))
        {
            Assert.True(bitmap.GetPixel(32, 8) is { Red: > 250, Green: < 5, Blue: < 5 }, $"kept region {bitmap.GetPixel(32, 8)}");
            Assert.True(bitmap.GetPixel(32, 56) is { Red: < 5, Green: < 5, Blue: > 250 }, $"repainted region {bitmap.GetPixel(32, 56)}");
        }

        // No noise mask: the mask channel is all ones (and the masked image black), so the whole image is the prompt's.
        var (r, g, b) = await RunAsync(host, Inpaint(null, ""));
        Assert.True(r < 0.02 && g < 0.02 && b > 0.98, $"no mask: ({r:F3}, {g:F3}, {b:F3})");

        // A uniform 0.8 noise mask: the model sees it rounded to 1 (x0 = blue), and the sampler blends with 0.8 twice (the
        // last x0 estimate, then the result): 0.8 · (0.8 · blue + 0.2 · red) + 0.2 · red = (0.36, 0, 0.64). Unrounded it
        // would be 0.512 blue.
        (r, g, b) = await RunAsync(host, Inpaint(soft, "SetLatentNoiseMask"));
        Assert.True(Math.Abs(r - 0.36) < 0.02 && g < 0.02 && Math.Abs(b - 0.64) < 0.02, $"soft mask: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Theory]
    [InlineData("analytic-sd-inpaint")]
    [InlineData("analytic-sd")]
    public async Task InpaintModelConditioning_repaints_under_the_mask_with_and_without_its_noise_mask(string model)
    {
        await using var host = await ComfyHost.StartAsync();
        var image = await UploadAsync(host, "/upload/image", "red.png", Images.SolidPng(64, 64, new SKColor(255, 0, 0)));
        var lower = await UploadAsync(host, "/upload/image", "lower.png", Images.SolidPng(64, 64, SKColors.Black, SKColors.White));
        foreach (var noiseMask in new[] { true, false })
        {
            var prompt = Img2Img(image, denoise: 1);
            prompt["4"]!["inputs"]!["ckpt_name"] = model;
            prompt["20"] = new JsonObject { ["class_type"] = "LoadImageMask", ["inputs"] = new JsonObject { ["image"] = lower, ["channel"] = "red" } };
            prompt["13"] = new JsonObject { ["class_type"] = "InpaintModelConditioning", ["inputs"] = new JsonObject
            {
                ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["vae"] = Link("4", 2), ["pixels"] = Link("12", 0), ["mask"] = Link("20", 0),
                ["noise_mask"] = noiseMask,
            } };
            prompt["3"]!["inputs"]!["positive"] = Link("13", 0);
            prompt["3"]!["inputs"]!["negative"] = Link("13", 1);
            prompt["3"]!["inputs"]!["latent_image"] = Link("13", 2);
            using var bitmap = SKBitmap.Decode(await RunForImageAsync(host, prompt));
            var (top, bottom) = (bitmap.GetPixel(32, 8), bitmap.GetPixel(32, 56));

            // The inpainting UNet reads the mask and the masked image from the conditioning, so even without the noise mask
            // only the lower half turns blue; a 4-channel UNet ignores them, and without the noise mask repaints everything.
            var keepsTop = noiseMask || model == "analytic-sd-inpaint";
            Assert.True(bottom is { Red: < 5, Green: < 5, Blue: > 250 }, $"{model}, noise_mask {noiseMask}: repainted region {bottom}");
            Assert.True(keepsTop ? top is { Red: > 250, Green: < 5, Blue: < 5 } : top is { Red: < 5, Green: < 5, Blue: > 250 },
                $"{model}, noise_mask {noiseMask}: upper half {top}");
        }
    }

    [Fact]
    public async Task Zero_out_negative_scale_to_total_pixels_and_image_mask_conversions_run_as_in_ComfyUI()
    {
        await using var host = await ComfyHost.StartAsync();
        // A zero negative reads as no colour words, grey on analytic-sd: blue at CFG 1.5 → (−0.25, −0.25, 1.25), clamped.
        var prompt = Prompts.Txt2Img(text: "a blue ball", cfg: 1.5, steps: 4);
        prompt["10"] = new JsonObject { ["class_type"] = "ConditioningZeroOut", ["inputs"] = new JsonObject { ["conditioning"] = Link("7", 0) } };
        prompt["3"]!["inputs"]!["negative"] = Link("10", 0);
        // ⌊0.01 · 1024²⌋ = 10,485 pixels for a 64 × 64 image: each side × 1.6, 102.4 → 102.
        prompt["11"] = new JsonObject { ["class_type"] = "ImageScaleToTotalPixels", ["inputs"] = new JsonObject
        {
            ["image"] = Link("8", 0), ["upscale_method"] = "bilinear", ["megapixels"] = 0.01,
        } };
        prompt["9"]!["inputs"]!["images"] = Link("11", 0);
        var (r, g, b, width, height) = Images.Mean(await RunForImageAsync(host, prompt));
        Assert.Equal((102, 102), (width, height));
        Assert.True(r < 0.02 && g < 0.02 && b > 0.98, $"zero negative: ({r:F3}, {g:F3}, {b:F3})");

        // The blue channel as a mask, shown as a grey image: white.
        prompt["12"] = new JsonObject { ["class_type"] = "ImageToMask", ["inputs"] = new JsonObject { ["image"] = Link("11", 0), ["channel"] = "blue" } };
        prompt["13"] = new JsonObject { ["class_type"] = "MaskToImage", ["inputs"] = new JsonObject { ["mask"] = Link("12", 0) } };
        prompt["9"]!["inputs"]!["images"] = Link("13", 0);
        (r, g, b, _, _) = Images.Mean(await RunForImageAsync(host, prompt));
        Assert.True(r > 0.98 && g > 0.98 && b > 0.98, $"blue channel as grey: ({r:F3}, {g:F3}, {b:F3})");
        prompt["12"]!["inputs"]!["channel"] = "red";
        (r, g, b, _, _) = Images.Mean(await RunForImageAsync(host, prompt));
        Assert.True(r < 0.02 && g < 0.02 && b < 0.02, $"red channel as grey: ({r:F3}, {g:F3}, {b:F3})");

        prompt["12"]!["inputs"]!["channel"] = "alpha";
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Contains("alpha", body["node_errors"]!["12"]!["errors"]![0]!["details"]!.GetValue<string>());
    }

    [Fact]
    public async Task Composite_crop_repeat_and_conditioning_concat_and_average_map_and_run()
    {
        await using var host = await ComfyHost.StartAsync();
        // ConditioningConcat of "red" and "blue": the analytic UNet averages the colour words of the joined tokens.
        var prompt = Prompts.Txt2Img(text: "red", steps: 4);
        prompt["10"] = new JsonObject { ["class_type"] = "CLIPTextEncode", ["inputs"] = new JsonObject { ["clip"] = Link("4", 1), ["text"] = "blue" } };
        prompt["11"] = new JsonObject { ["class_type"] = "ConditioningConcat", ["inputs"] = new JsonObject { ["conditioning_to"] = Link("6", 0), ["conditioning_from"] = Link("10", 0) } };
        prompt["3"]!["inputs"]!["positive"] = Link("11", 0);
        var (r, g, b) = await RunAsync(host, prompt);
        Assert.True(Math.Abs(r - 0.5) < 0.02 && g < 0.02 && Math.Abs(b - 0.5) < 0.02, $"concat: ({r:F3}, {g:F3}, {b:F3})");

        // A green 16 × 16 square pasted at (8, 8) onto the red 64 × 64 result, then the 32 × 32 crop at (0, 0): a quarter of it green.
        prompt = Prompts.Txt2Img(text: "red", steps: 4);
        var green = await UploadAsync(host, "/upload/image", "green.png", Images.SolidPng(16, 16, new SKColor(0, 255, 0)));
        prompt["12"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = green, ["upload"] = "image" } };
        prompt["13"] = new JsonObject { ["class_type"] = "ImageCompositeMasked", ["inputs"] = new JsonObject
        {
            ["destination"] = Link("8", 0), ["source"] = Link("12", 0), ["x"] = 8, ["y"] = 8, ["resize_source"] = false,
        } };
        prompt["14"] = new JsonObject { ["class_type"] = "ImageCrop", ["inputs"] = new JsonObject { ["image"] = Link("13", 0), ["width"] = 32, ["height"] = 32, ["x"] = 0, ["y"] = 0 } };
        prompt["9"]!["inputs"]!["images"] = Link("14", 0);
        var (cr, cg, cb, width, height) = Images.Mean(await RunForImageAsync(host, prompt));
        Assert.Equal((32, 32), (width, height));
        Assert.True(Math.Abs(cr - 0.75) < 0.02 && Math.Abs(cg - 0.25) < 0.02 && cb < 0.02, $"composite and crop: ({cr:F3}, {cg:F3}, {cb:F3})");

        // ConditioningAverage of "red" (to) and "blue" (from): the colour word's embedding weighed 0.75 : 0.25.
        prompt = Prompts.Txt2Img(text: "red", steps: 4);
        prompt["10"] = new JsonObject { ["class_type"] = "CLIPTextEncode", ["inputs"] = new JsonObject { ["clip"] = Link("4", 1), ["text"] = "blue" } };
        prompt["11"] = new JsonObject { ["class_type"] = "ConditioningAverage", ["inputs"] = new JsonObject
        {
            ["conditioning_to"] = Link("6", 0), ["conditioning_from"] = Link("10", 0), ["conditioning_to_strength"] = 0.75,
        } };
        prompt["3"]!["inputs"]!["positive"] = Link("11", 0);
        (r, g, b) = await RunAsync(host, prompt);
        Assert.True(Math.Abs(r - 0.75) < 0.02 && g < 0.02 && Math.Abs(b - 0.25) < 0.02, $"average: ({r:F3}, {g:F3}, {b:F3})");

        // LatentCompositeMasked: a 32 × 32 blue sample pasted at (16, 16) into the red one covers a quarter of it.
        prompt = Prompts.Txt2Img(text: "red", steps: 4);
        prompt["20"] = new JsonObject { ["class_type"] = "EmptyLatentImage", ["inputs"] = new JsonObject { ["width"] = 32, ["height"] = 32, ["batch_size"] = 1 } };
        prompt["21"] = new JsonObject { ["class_type"] = "CLIPTextEncode", ["inputs"] = new JsonObject { ["clip"] = Link("4", 1), ["text"] = "blue" } };
        prompt["22"] = new JsonObject { ["class_type"] = "KSampler", ["inputs"] = new JsonObject
        {
            ["model"] = Link("4", 0), ["seed"] = 1, ["steps"] = 4, ["cfg"] = 1, ["sampler_name"] = "euler", ["scheduler"] = "normal", ["denoise"] = 1,
            ["positive"] = Link("21", 0), ["negative"] = Link("7", 0), ["latent_image"] = Link("20", 0),
        } };
        prompt["23"] = new JsonObject { ["class_type"] = "LatentCompositeMasked", ["inputs"] = new JsonObject
        {
            ["destination"] = Link("3", 0), ["source"] = Link("22", 0), ["x"] = 16, ["y"] = 16, ["resize_source"] = false,
        } };
        prompt["8"]!["inputs"]!["samples"] = Link("23", 0);
        (r, g, b) = await RunAsync(host, prompt);
        Assert.True(Math.Abs(r - 0.75) < 0.02 && g < 0.02 && Math.Abs(b - 0.25) < 0.02, $"latent composite: ({r:F3}, {g:F3}, {b:F3})");

        // RepeatLatentBatch 3: three images saved.
        prompt = Prompts.Txt2Img(text: "red", steps: 2);
        prompt["15"] = new JsonObject { ["class_type"] = "RepeatLatentBatch", ["inputs"] = new JsonObject { ["samples"] = Link("5", 0), ["amount"] = 3 } };
        prompt["3"]!["inputs"]!["latent_image"] = Link("15", 0);
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(200, status);
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        Assert.Equal(3, history["outputs"]!["9"]!["images"]!.AsArray().Count);
    }

    [Fact]
    public async Task Euler_cfg_pp_at_cfg_1_takes_its_noise_direction_from_the_negative_prompt()
    {
        // analytic-sd's x0 is the prompt's colour whatever the latents. An euler_cfg_pp step is C + σ_next/σ·(x − U), Euler's
        // C + σ_next/σ·(x − C): ComfyUI evaluates the negative prompt at cfg 1 too for its CFG++ samplers, so after two steps
        // of four (the noise left in) the latents stand (σ₂/σ₁)(1 + σ₁/σ₀)·(C − U) from Euler's, towards the positive's red
        // and away from the negative's blue. With the positive as negative the step is Euler's.
        await using var host = await ComfyHost.StartAsync();
        JsonObject Prompt(string sampler, string negative)
        {
            var prompt = Prompts.Txt2Img(text: "red", steps: 4);
            prompt["3"] = new JsonObject
            {
                ["class_type"] = "KSamplerAdvanced",
                ["inputs"] = new JsonObject
                {
                    ["model"] = Link("4", 0), ["add_noise"] = "enable", ["noise_seed"] = 5, ["steps"] = 4, ["cfg"] = 1, ["sampler_name"] = sampler,
                    ["scheduler"] = "normal", ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["latent_image"] = Link("5", 0),
                    ["start_at_step"] = 0, ["end_at_step"] = 2, ["return_with_leftover_noise"] = "enable",
                },
            };
            prompt["7"]!["inputs"]!["text"] = negative;
            return prompt;
        }

        var euler = await RunForImageAsync(host, Prompt("euler", "blue"));
        var cfgPlusPlus = await RunForImageAsync(host, Prompt("euler_cfg_pp", "blue"));
        var positiveAsNegative = await RunForImageAsync(host, Prompt("euler_cfg_pp", "red"));

        var (eulerRed, eulerGreen, eulerBlue, _, _) = Images.Mean(euler);
        var (red, green, blue, _, _) = Images.Mean(cfgPlusPlus);
        Assert.True(red > eulerRed + 0.03 && blue < eulerBlue - 0.03 && Math.Abs(green - eulerGreen) < 0.01,
            $"euler_cfg_pp ({red:F3}, {green:F3}, {blue:F3}) against euler ({eulerRed:F3}, {eulerGreen:F3}, {eulerBlue:F3})");
        var sameAsEuler = Pixels(euler).Zip(Pixels(positiveAsNegative), (a, b) => Math.Abs(a - b)).Max();
        Assert.True(sameAsEuler <= 1, $"euler_cfg_pp with the positive as negative differs from euler by {sameAsEuler} levels");
    }

    [Fact]
    public async Task LatentFromBatch_gives_its_item_the_noise_it_had_in_the_batch_and_LatentBatch_and_LatentRotate_map_and_run()
    {
        await using var host = await ComfyHost.StartAsync();
        // KSamplerAdvanced stopped at step 2 of 4 with the noise left in: the decoded image shows the starting noise.
        JsonObject Prompt(bool cutFirst, int batch)
        {
            var prompt = Prompts.Txt2Img(text: "red", steps: 4, batch: batch);
            prompt["3"] = new JsonObject
            {
                ["class_type"] = "KSamplerAdvanced",
                ["inputs"] = new JsonObject
                {
                    ["model"] = Link("4", 0), ["add_noise"] = "enable", ["noise_seed"] = 5, ["steps"] = 4, ["cfg"] = 1, ["sampler_name"] = "euler",
                    ["scheduler"] = "normal", ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["latent_image"] = Link(cutFirst ? "20" : "5", 0),
                    ["start_at_step"] = 0, ["end_at_step"] = 2, ["return_with_leftover_noise"] = "enable",
                },
            };
            prompt["20"] = new JsonObject { ["class_type"] = "LatentFromBatch", ["inputs"] = new JsonObject { ["samples"] = Link(cutFirst ? "5" : "3", 0), ["batch_index"] = 2, ["length"] = 1 } };
            prompt["8"]!["inputs"]!["samples"] = Link(cutFirst ? "3" : "20", 0);
            return prompt;
        }

        var inBatch = Pixels(await RunForImageAsync(host, Prompt(cutFirst: false, batch: 3)));
        var cutFirst = Pixels(await RunForImageAsync(host, Prompt(cutFirst: true, batch: 3)));
        var alone = Pixels(await RunForImageAsync(host, Prompt(cutFirst: true, batch: 1)));
        Assert.True(MeanDifference(inBatch, cutFirst) < 0.01, $"item 2 sampled alone differs from item 2 of the batch by {MeanDifference(inBatch, cutFirst):F4}");
        Assert.True(MeanDifference(inBatch, alone) > 0.05, $"a batch of one has item 0's noise, yet differs by only {MeanDifference(inBatch, alone):F4}");

        // LatentBatch of two 64 × 64 batches of one, and a 64 × 32 one rotated 90° to 32 × 64: three red images, the last 32 wide.
        var batched = Prompts.Txt2Img(text: "red", steps: 2);
        batched["21"] = new JsonObject { ["class_type"] = "EmptyLatentImage", ["inputs"] = new JsonObject { ["width"] = 64, ["height"] = 32, ["batch_size"] = 1 } };
        batched["22"] = new JsonObject { ["class_type"] = "LatentRotate", ["inputs"] = new JsonObject { ["samples"] = Link("21", 0), ["rotation"] = "90 degrees" } };
        batched["23"] = new JsonObject { ["class_type"] = "LatentBatch", ["inputs"] = new JsonObject { ["samples1"] = Link("5", 0), ["samples2"] = Link("5", 0) } };
        batched["24"] = new JsonObject { ["class_type"] = "LatentBatch", ["inputs"] = new JsonObject { ["samples1"] = Link("23", 0), ["samples2"] = Link("22", 0) } };
        batched["25"] = new JsonObject { ["class_type"] = "LatentFlip", ["inputs"] = new JsonObject { ["samples"] = Link("24", 0), ["flip_method"] = "y-axis: horizontally" } };
        batched["3"]!["inputs"]!["latent_image"] = Link("25", 0);
        var images = await AllImagesAsync(host, batched);
        Assert.Equal(3, images.Count);
        Assert.All(images, image =>
        {
            var (r, g, b, width, height) = Images.Mean(image);
            Assert.True(r > 0.98 && g < 0.02 && b < 0.02 && (width, height) == (64, 64), $"({r:F3}, {g:F3}, {b:F3}) {width}×{height}");
        });

        // LatentRotate alone: 64 × 32 turned to 32 × 64.
        var turned = Prompts.Txt2Img(text: "red", steps: 2);
        turned["21"] = batched["21"]!.DeepClone();
        turned["22"] = batched["22"]!.DeepClone();
        turned["3"]!["inputs"]!["latent_image"] = Link("22", 0);
        var (_, _, _, turnedWidth, turnedHeight) = Images.Mean(await RunForImageAsync(host, turned));
        Assert.Equal((32, 64), (turnedWidth, turnedHeight));
    }

    [Fact]
    public async Task Image_batch_classes_flips_rotations_and_mask_classes_map_and_run()
    {
        await using var host = await ComfyHost.StartAsync();
        // The red 64 × 64 result and a 32 × 32 EmptyImage of 0x0000FF (resized to 64 × 64) batched, repeated to 4, and
        // images 1 and 2 taken: blue, red.
        var prompt = Prompts.Txt2Img(text: "red", steps: 2);
        prompt["30"] = new JsonObject { ["class_type"] = "EmptyImage", ["inputs"] = new JsonObject { ["width"] = 32, ["height"] = 32, ["batch_size"] = 1, ["color"] = 255 } };
        prompt["31"] = new JsonObject { ["class_type"] = "ImageBatch", ["inputs"] = new JsonObject { ["image1"] = Link("8", 0), ["image2"] = Link("30", 0) } };
        prompt["32"] = new JsonObject { ["class_type"] = "RepeatImageBatch", ["inputs"] = new JsonObject { ["image"] = Link("31", 0), ["amount"] = 2 } };
        prompt["33"] = new JsonObject { ["class_type"] = "ImageFromBatch", ["inputs"] = new JsonObject { ["image"] = Link("32", 0), ["batch_index"] = 1, ["length"] = 2 } };
        prompt["9"]!["inputs"]!["images"] = Link("33", 0);
        var images = (await AllImagesAsync(host, prompt)).Select(Images.Mean).ToList();
        Assert.Equal(2, images.Count);
        Assert.True(images[0] is { R: < 0.02, G: < 0.02, B: > 0.98, Width: 64, Height: 64 }, $"first {images[0]}");
        Assert.True(images[1] is { R: > 0.98, G: < 0.02, B: < 0.02 }, $"second {images[1]}");

        // Masks: 1 everywhere less a 32 × 64 block of 1 at x = 32 (MaskComposite subtract) is 1 on the left half only;
        // CropMask keeps the left 40 columns, and FeatherMask right 8 runs ComfyUI's loop from column −0: column 0 × 1/8
        // (columns 33–39 are 0 already). A blue 40 × 64 EmptyImage pasted on the red result through that mask is blue in
        // columns 1–31 and 1/8 blue in column 0. ImageRotate 180 then ImageFlip vertically mirrors left and right: the
        // left 32 columns (ImageCrop) red, the right ones (31 + 1/8) / 32 blue.
        prompt = Prompts.Txt2Img(text: "red", steps: 2);
        prompt["40"] = new JsonObject { ["class_type"] = "SolidMask", ["inputs"] = new JsonObject { ["value"] = 1.0, ["width"] = 64, ["height"] = 64 } };
        prompt["41"] = new JsonObject { ["class_type"] = "SolidMask", ["inputs"] = new JsonObject { ["value"] = 1.0, ["width"] = 32, ["height"] = 64 } };
        prompt["42"] = new JsonObject { ["class_type"] = "MaskComposite", ["inputs"] = new JsonObject
        {
            ["destination"] = Link("40", 0), ["source"] = Link("41", 0), ["x"] = 32, ["y"] = 0, ["operation"] = "subtract",
        } };
        prompt["43"] = new JsonObject { ["class_type"] = "CropMask", ["inputs"] = new JsonObject { ["mask"] = Link("42", 0), ["x"] = 0, ["y"] = 0, ["width"] = 40, ["height"] = 64 } };
        prompt["44"] = new JsonObject { ["class_type"] = "FeatherMask", ["inputs"] = new JsonObject { ["mask"] = Link("43", 0), ["left"] = 0, ["top"] = 0, ["right"] = 8, ["bottom"] = 0 } };
        prompt["45"] = new JsonObject { ["class_type"] = "EmptyImage", ["inputs"] = new JsonObject { ["width"] = 40, ["height"] = 64, ["batch_size"] = 1, ["color"] = 255 } };
        prompt["46"] = new JsonObject { ["class_type"] = "ImageCompositeMasked", ["inputs"] = new JsonObject
        {
            ["destination"] = Link("8", 0), ["source"] = Link("45", 0), ["x"] = 0, ["y"] = 0, ["resize_source"] = false, ["mask"] = Link("44", 0),
        } };
        prompt["47"] = new JsonObject { ["class_type"] = "ImageRotate", ["inputs"] = new JsonObject { ["image"] = Link("46", 0), ["rotation"] = "180 degrees" } };
        prompt["48"] = new JsonObject { ["class_type"] = "ImageFlip", ["inputs"] = new JsonObject { ["image"] = Link("47", 0), ["flip_method"] = "x-axis: vertically" } };
        prompt["49"] = new JsonObject { ["class_type"] = "ImageCrop", ["inputs"] = new JsonObject { ["image"] = Link("48", 0), ["width"] = 32, ["height"] = 64, ["x"] = 0, ["y"] = 0 } };
        prompt["9"]!["inputs"]!["images"] = Link("49", 0);
        var (r, g, b, width, height) = Images.Mean(await RunForImageAsync(host, prompt));
        Assert.Equal((32, 64), (width, height));
        Assert.True(r > 0.98 && g < 0.02 && b < 0.02, $"left half after the turn and flip: ({r:F3}, {g:F3}, {b:F3})");
        prompt["49"]!["inputs"]!["x"] = 32;
        (r, g, b, _, _) = Images.Mean(await RunForImageAsync(host, prompt));
        Assert.True(Math.Abs(r - 7 / 8.0 / 32) < 0.005 && g < 0.02 && Math.Abs(b - 31.125 / 32) < 0.005, $"right half after the turn and flip: ({r:F3}, {g:F3}, {b:F3})");
    }

    internal static byte[] Pixels(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png)!;
        return bitmap.Pixels.SelectMany(c => new[] { c.Red, c.Green, c.Blue }).ToArray();
    }

    internal static double MeanDifference(byte[] a, byte[] b) => a.Zip(b, (x, y) => Math.Abs(x - y) / 255.0).Average();

    internal static async Task<IReadOnlyList<byte[]>> AllImagesAsync(ComfyHost host, JsonObject prompt)
    {
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.True(status == 200, body.ToJsonString());
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>());
        Assert.True(history["status"]!["status_str"]!.GetValue<string>() == "success", history["status"]!.ToJsonString());
        var images = new List<byte[]>();
        foreach (var image in history["outputs"]!["9"]!["images"]!.AsArray())
            images.Add(await host.Client.GetByteArrayAsync($"/view?filename={Uri.EscapeDataString(image!["filename"]!.GetValue<string>())}&subfolder={image["subfolder"]}&type={image["type"]}"));
        return images;
    }

    private static JsonObject Img2Img(string image, double denoise)
    {
        var prompt = Prompts.Txt2Img(text: "a blue ball", steps: 5);
        prompt["12"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = image, ["upload"] = "image" } };
        prompt["13"] = new JsonObject { ["class_type"] = "VAEEncode", ["inputs"] = new JsonObject { ["pixels"] = Link("12", 0), ["vae"] = Link("4", 2) } };
        prompt["3"]!["inputs"]!["latent_image"] = Link("13", 0);
        prompt["3"]!["inputs"]!["denoise"] = denoise;
        prompt.Remove("5");
        return prompt;
    }

    [Fact]
    public async Task Upload_mask_merges_the_masks_alpha_into_the_original_image_as_ComfyUI_does()
    {
        await using var host = await ComfyHost.StartAsync();
        var original = await UploadAsync(host, "/upload/image", "photo.png", Images.SolidPng(16, 8, new SKColor(200, 100, 50)));
        // The mask editor's upload: RGB ignored, alpha per pixel (here 16·x + y, every pixel different).
        var info = new SKImageInfo(16, 8, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var maskBitmap = new SKBitmap(info);
        for (var y = 0; y < 8; y++)
        for (var x = 0; x < 16; x++)
            maskBitmap.SetPixel(x, y, new SKColor(0, 0, 0, (byte)(16 * x + y)));
        byte[] maskPng;
        using (var data = maskBitmap.Encode(SKEncodedImageFormat.Png, 100)) maskPng = data.ToArray();

        static async Task<string> ErrorOf(HttpResponseMessage response)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>();
        }

        async Task<HttpResponseMessage> PostMask(string originalRef, byte[] png)
        {
            using var content = new ByteArrayContent(png);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            using var form = new MultipartFormDataContent { { content, "image", "clipspace-mask.png" } };
            form.Add(new StringContent("true"), "overwrite");
            form.Add(new StringContent(originalRef), "original_ref");
            return await host.Client.PostAsync("/upload/mask", form);
        }

        using (var response = await PostMask($$"""{"filename": "{{original}}", "subfolder": "", "type": "input"}""", maskPng))
        {
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
            Assert.Equal("clipspace-mask.png", body["name"]!.GetValue<string>());
        }

        var merged = await host.Client.GetByteArrayAsync("/view?filename=clipspace-mask.png&type=input");
        using var codec = SKCodec.Create(new MemoryStream(merged));
        using var result = new SKBitmap(info);
        Assert.Equal(SKCodecResult.Success, codec.GetPixels(info, result.GetPixels()));
        for (var y = 0; y < 8; y++)
        for (var x = 0; x < 16; x++)
        {
            var pixel = result.GetPixel(x, y);
            Assert.Equal((byte)(16 * x + y), pixel.Alpha);
            if (pixel.Alpha > 0) Assert.Equal(((byte)200, (byte)100, (byte)50), (pixel.Red, pixel.Green, pixel.Blue));
        }

        // The original must exist, be inside its folder and have the mask's size.
        using (var missing = await PostMask("""{"filename": "nothing.png", "type": "input"}""", maskPng))
            Assert.Contains("'nothing.png' is not an image in the input folder", await ErrorOf(missing));
        using (var escape = await PostMask("""{"filename": "photo.png", "subfolder": "../..", "type": "input"}""", maskPng))
            Assert.Equal(HttpStatusCode.BadRequest, escape.StatusCode);
        using (var wrongSize = await PostMask($$"""{"filename": "{{original}}", "type": "input"}""", Images.SolidPng(8, 8, SKColors.Black)))
            Assert.Contains("the mask is 8×8 but", await ErrorOf(wrongSize));
        using (var noReference = await PostMask("", maskPng))
            Assert.Equal(HttpStatusCode.BadRequest, noReference.StatusCode);
    }

    internal static async Task<string> UploadAsync(ComfyHost host, string route, string name, byte[] png, bool overwrite = true)
    {
        using var content = new ByteArrayContent(png);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var form = new MultipartFormDataContent { { content, "image", name } };
        if (overwrite) form.Add(new StringContent("true"), "overwrite");
        using var response = await host.Client.PostAsync(route, form);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        Assert.Equal("input", body["type"]!.GetValue<string>());
        return body["name"]!.GetValue<string>();
    }

    internal static Task<(double R, double G, double B)> RunMeanAsync(ComfyHost host, JsonObject prompt) => RunAsync(host, prompt);

    private static async Task<(double R, double G, double B)> RunAsync(ComfyHost host, JsonObject prompt)
    {
        var (r, g, b, _, _) = Images.Mean(await RunForImageAsync(host, prompt));
        return (r, g, b);
    }

    internal static async Task<byte[]> RunForImageAsync(ComfyHost host, JsonObject prompt, TimeSpan? timeout = null)
    {
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.True(status == 200, body.ToJsonString());
        var history = await host.HistoryAsync(body["prompt_id"]!.GetValue<string>(), timeout);
        Assert.True(history["status"]!["status_str"]!.GetValue<string>() == "success", history["status"]!.ToJsonString());
        var image = history["outputs"]!["9"]!["images"]![0]!;
        return await host.Client.GetByteArrayAsync($"/view?filename={Uri.EscapeDataString(image["filename"]!.GetValue<string>())}&subfolder={image["subfolder"]}&type={image["type"]}");
    }
}
