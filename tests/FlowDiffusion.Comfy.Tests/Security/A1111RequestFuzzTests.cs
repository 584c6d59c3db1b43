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
        "s_churn", "s_tmax", "mask", "refiner_checkpoint",
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
        foreach (var field in Fields)
        foreach (var value in Values)
        {
            var body = new JsonObject { ["enable_hr"] = hires, ["init_images"] = new JsonArray("AAAA"), [field] = JsonNode.Parse(value) };
            try
            {
                var request = A1111Request.Parse(body, img2img);
                // What parses builds a prompt without throwing.
                A1111Prompt.Build(request, "analytic-sd", 1, 0, img2img ? ("a.png", request.Width, request.Height) : null,
                    request.Loras.Select(l => l.Name + ".safetensors").ToList());
            }
            catch (A1111RequestException e)
            {
                refused++;
                Assert.False(string.IsNullOrWhiteSpace(e.Field));
                Assert.InRange(e.Status, 400, 499);
                Assert.StartsWith(e.Field + ":", e.Message);
            }
        }

        Assert.InRange(refused, 100, 2 * 2 * Fields.Length * Values.Length - 100);
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
    ];

    [Fact]
    public void Every_ControlNet_unit_field_of_every_type_parses_and_builds_or_is_refused_naming_the_units_field()
    {
        var refused = 0;
        var parsed = 0;
        foreach (var img2img in new[] { false, true })
        foreach (var field in UnitFields)
        foreach (var value in UnitValues)
        {
            var unit = new JsonObject
            {
                ["enabled"] = true, ["module"] = "canny", ["model"] = "control_v11p_sd15_canny [d14c016b]", ["image"] = "AAAA", ["pixel_perfect"] = field != "processor_res",
                [field] = JsonNode.Parse(value),
            };
            var body = new JsonObject { ["init_images"] = new JsonArray("AAAA"), ["alwayson_scripts"] = new JsonObject { ["controlnet"] = new JsonObject { ["args"] = new JsonArray(unit) } } };
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
                        A1111ControlNet.AddTo(prompt, [.. request.ControlNet.Select(u => new A1111ControlNet.Input(u, "a.png", width, height, "c.safetensors", u.ResizeMode))], request.Width, request.Height);
                        Assert.All(request.ControlNet, u => Assert.NotNull(prompt[A1111ControlNet.Prefix(u.Index) + "_apply"]));
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

        Assert.InRange(refused, 100, 2 * UnitFields.Length * UnitValues.Length - 100);
        Assert.InRange(parsed, 100, 2 * UnitFields.Length * UnitValues.Length - 100);

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
