using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;

namespace FlowDiffusion.Comfy.Tests.Security;

public sealed class A1111RequestFuzzTests
{
    private static readonly string[] Fields =
    [
        "prompt", "negative_prompt", "seed", "sampler_name", "sampler_index", "scheduler", "batch_size", "n_iter", "steps", "cfg_scale",
        "width", "height", "denoising_strength", "override_settings", "send_images", "save_images", "init_images", "resize_mode",
        "enable_hr", "hr_scale", "hr_upscaler", "hr_resize_x", "hr_resize_y", "hr_second_pass_steps", "hr_sampler_name", "hr_prompt",
        "restore_faces", "tiling", "subseed_strength", "seed_resize_from_h", "styles", "script_name", "alwayson_scripts", "eta",
        "s_churn", "s_tmax", "mask", "refiner_checkpoint", "mask_blur", "mask_blur_x", "mask_blur_y", "inpainting_fill", "inpaint_full_res",
        "inpaint_full_res_padding", "inpainting_mask_invert", "mask_round", "initial_noise_multiplier",
    ];

    private static readonly string[] Values =
    [
        "null", "true", "false", "0", "-1", "1e308", "-1e308", "9223372036854775807", "18446744073709551616", "0.5", "\"\"", "\"20\"",
        "\"NaN\"", "\"Infinity\"", "\"Euler a\"", "\"<lora:a:b:c:d>\"", "\"<lora::>\"", "\"<x:y>\"", "[]", "[1, \"a\"]", "{}",
        "{\"sd_model_checkpoint\": 5}", "{\"CLIP_stop_at_last_layers\": \"2\"}", "[\"data:image/png;base64,\"]", "\"data:,\"",
    ];

    [Fact]
    public void Every_field_of_every_type_parses_or_is_refused_by_name_and_never_throws_anything_else()
    {
        var refused = 0;
        foreach (var img2img in new[] { false, true })
        foreach (var hires in new[] { false, true })
        foreach (var inpaint in new[] { false, true })
        foreach (var field in Fields)
        foreach (var value in Values)
        {
            var body = new JsonObject { ["enable_hr"] = hires, ["init_images"] = new JsonArray("AAAA"), [field] = JsonNode.Parse(value) };
            if (inpaint && field != "mask") body["mask"] = "AAAA";
            try
            {
                var request = A1111Request.Parse(body, img2img);
                // What parses builds a prompt without throwing: whole-picture and only-masked inpainting, each resize mode.
                foreach (var region in new (int, int, int, int)?[] { null, (3, 5, 40, 42) })
                {
                    A1111Prompt.Build(request, "analytic-sd", 1, 0, img2img ? ("a.png", request.Width / 2 + 3, request.Height) : null,
                        request.Loras.Select(l => l.Name + ".safetensors").ToList(), request.Inpainting is null ? null : new A1111MaskFile("m.png", 17, 90, region));
                }
            }
            catch (A1111RequestException e)
            {
                refused++;
                Assert.False(string.IsNullOrWhiteSpace(e.Field));
                Assert.InRange(e.Status, 400, 499);
                Assert.StartsWith(e.Field + ":", e.Message);
            }
        }

        Assert.InRange(refused, 100, 2 * 2 * 2 * Fields.Length * Values.Length - 100);
    }

    [Fact]
    public void Only_masked_regions_of_any_mask_lie_inside_the_image_with_the_sizes_ratio_or_the_whole_side()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 400; trial++)
        {
            int width = random.Next(1, 40), height = random.Next(1, 40), target = 8 * random.Next(8, 40), targetHeight = 8 * random.Next(8, 40);
            var mask = new byte[width * height];
            for (var i = 0; i < mask.Length; i++) mask[i] = random.Next(4) == 0 ? (byte)random.Next(256) : (byte)0;
            var region = A1111Inpainting.Region(mask, width, height, random.Next(2) == 0, random.Next(0, A1111Inpainting.MaxBlur + 1), random.Next(0, 3000), target, targetHeight);
            if (region is not { } r) continue;
            Assert.InRange(r.X1, 0, width - 1);
            Assert.InRange(r.Y1, 0, height - 1);
            Assert.InRange(r.X2, r.X1 + 1, width);
            Assert.InRange(r.Y2, r.Y1 + 1, height);
        }
    }

    [Fact]
    public async Task Every_extras_and_png_info_field_of_every_type_answers_or_is_refused_by_name_and_never_fails_the_server()
    {
        await using var host = await ComfyHost.StartAsync();
        string[] fields =
        [
            "resize_mode", "show_extras_results", "gfpgan_visibility", "codeformer_visibility", "codeformer_weight", "upscaling_resize",
            "upscaling_resize_w", "upscaling_resize_h", "upscaling_crop", "upscaler_1", "upscaler_2", "extras_upscaler_2_visibility", "upscale_first",
            "image", "imageList", "png-info image",
        ];
        var image = Convert.ToBase64String(Images.SolidPng(8, 8, SkiaSharp.SKColors.Teal, SkiaSharp.SKColors.Red));
        var answered = 0;
        foreach (var field in fields)
        foreach (var value in Values)
        {
            var (route, name) = field switch
            {
                "imageList" => ("extra-batch-images", field),
                "png-info image" => ("png-info", "image"),
                _ => ("extra-single-image", field),
            };
            var body = new JsonObject
            {
                ["image"] = image, ["upscaler_1"] = "Lanczos", ["upscaler_2"] = "Nearest", ["extras_upscaler_2_visibility"] = 0.25, ["resize_mode"] = 1,
                ["upscaling_resize_w"] = 24, ["upscaling_resize_h"] = 16, [name] = JsonNode.Parse(value),
            };
            var (status, answer) = await A1111.A1111Client.PostAsync(host, route, body);
            if (status == 200)
            {
                answered++;
                Assert.NotNull(route == "png-info" ? answer["parameters"] : answer["html_info"]);
                continue;
            }

            Assert.True(status is >= 400 and < 500, $"{route} {field}={value}: {status} {answer.ToJsonString()}");
            var named = answer["field"]!.GetValue<string>();
            Assert.True(named == name || named.StartsWith(name + "[", StringComparison.Ordinal), $"{field}={value} refused naming {named}");
        }

        // Most kinds of value are wrong for any one field; the fields' own (null, a number in range, a name) run.
        Assert.InRange(answered, 20, fields.Length * Values.Length - 200);

        // Infotexts of every shape parse, whatever they hold.
        var random = new Random(3);
        string[] pieces = ["Steps: 5", ", ", "\n", "Negative prompt:", "(", ")", "[", "]", ":1.5)", "\\(", "\"", "Size: 5x6", "BREAK", "Version: v1.2.3-4-g", "x", ": ", "\u00e9"];
        for (var i = 0; i < 2000; i++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(0, 30)).Select(_ => pieces[random.Next(pieces.Length)]));
            Assert.NotNull(A1111PngInfo.Parse(text)["Prompt"]);
        }
    }

    private static readonly string[] UnitFields =
    [
        "enabled", "module", "model", "weight", "image", "input_image", "mask", "mask_image", "resize_mode", "processor_res", "threshold_a",
        "threshold_b", "guidance_start", "guidance_end", "guidance", "control_mode", "pixel_perfect", "low_vram", "save_detected_map",
        "advanced_weighting", "effective_region_mask", "input_mode", "union_control_type", "animatediff_batch", "hr_option", "batch_images",
        "ipadapter_input",
    ];

    private static readonly string[] UnitValues =
    [
        .. Values, "\"Crop and Resize\"", "\"Inner Fit (Scale to Fit)\"", "\"Balanced\"", "\"My prompt is more important\"", "\"dw_openpose_full\"",
        "\"invert (from white bg & black line)\"", "\"threshold\"", "\"none\"", "{\"image\": \"AAAA\", \"mask\": null}", "{\"image\": 1}",
        "[\"AAAA\", \"AAAA\"]", "[{\"image\": \"AAAA\"}]", "[{\"image\": 1}]", "3", "2", "2049", "-0.5", "64", "4096",
        "\"ControlNet is more important\"", "\"Low res only\"", "\"High res only\"", "\"Both\"", "\"both\"", "-1",
    ];

    [Fact]
    public void Every_ControlNet_unit_field_of_every_type_parses_and_builds_or_is_refused_naming_the_units_field()
    {
        var refused = 0;
        var parsed = 0;
        // txt2img, img2img, and txt2img with the hires fix (whose second pass takes a chain of its own).
        foreach (var (img2img, hires) in new[] { (false, false), (true, false), (false, true) })
        foreach (var field in UnitFields)
        foreach (var value in UnitValues)
        {
            var unit = new JsonObject
            {
                ["enabled"] = true, ["module"] = "canny", ["model"] = "control_v11p_sd15_canny [d14c016b]", ["image"] = "AAAA", ["pixel_perfect"] = field != "processor_res",
                [field] = JsonNode.Parse(value),
            };
            var body = new JsonObject { ["init_images"] = new JsonArray("AAAA"), ["alwayson_scripts"] = new JsonObject { ["controlnet"] = new JsonObject { ["args"] = new JsonArray(unit) } } };
            if (hires) body["enable_hr"] = true;
            try
            {
                var request = A1111Request.Parse(body, img2img);
                parsed++;
                // What parses builds, for control images of any shape against the target size, or is refused naming the unit.
                foreach (var (width, height) in new[] { (64, 64), (1, 3000), (3000, 1), (7, 5), (2048, 2048) })
                {
                    var prompt = A1111Prompt.Build(request, "analytic-sd", 1, 0, img2img ? ("a.png", request.Width, request.Height) : null, []);
                    try
                    {
                        A1111ControlNet.AddTo(prompt, [.. request.ControlNet.Select(u => new A1111ControlNet.Input(u, "a.png", width, height, "c.safetensors", u.ResizeMode))], request.Width, request.Height,
                            request.Hires is { } fix ? (fix.Width, fix.Height) : null);
                        Assert.All(request.ControlNet, u => Assert.True(prompt[A1111ControlNet.Prefix(u.Index) + "_apply"] is not null || prompt[A1111ControlNet.Prefix(u.Index) + "_hr_apply"] is not null));
                        Assert.Equal(hires, prompt["hires_0"] is not null);
                    }
                    catch (A1111RequestException e)
                    {
                        Assert.StartsWith("alwayson_scripts.controlnet.args[0].image", e.Field);
                    }
                }
            }
            catch (A1111RequestException e)
            {
                refused++;
                Assert.InRange(e.Status, 400, 499);
                Assert.StartsWith(e.Field + ":", e.Message);
                Assert.StartsWith("alwayson_scripts.controlnet.args[0]", e.Field);
            }
        }

        Assert.InRange(refused, 100, 3 * UnitFields.Length * UnitValues.Length - 100);
        Assert.InRange(parsed, 100, 3 * UnitFields.Length * UnitValues.Length - 100);

        // The containers: alwayson_scripts, the script, its args, each unit.
        foreach (var value in UnitValues)
        {
            foreach (var scripts in new[] { "{\"controlnet\": " + value + "}", "{\"controlnet\": {\"args\": " + value + "}}", value })
            {
                try
                {
                    A1111Request.Parse(new JsonObject { ["alwayson_scripts"] = JsonNode.Parse(scripts) }, false);
                }
                catch (A1111RequestException e)
                {
                    Assert.StartsWith("alwayson_scripts", e.Field);
                }
            }
        }
    }
}
