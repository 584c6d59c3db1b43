using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;
using SkiaSharp;

namespace FlowDiffusion.Comfy.Tests.A1111;

/// <summary>
/// The order of A1111 1.10's generation parameters, in the infotext and in <c>info.extra_generation_params</c>: create_infotext's
/// fixed keys (Steps … Denoising strength, Clip skip) first, then the extra parameters in the order A1111 adds them —
/// sd-webui-controlnet's units in the scripts' process(), before the processing's init() adds the mask's and the hires
/// fix's keys — and the info's dictionary in that order with the hires keys A1111 leaves unset as null.
/// </summary>
public sealed class A1111ExtraParamsTests
{
    private static readonly string Hints = Path.Combine(CheckpointHome.TestData, "sd1-tiny", "controlnet");

    private static JsonObject Unit() => new()
    {
        ["enabled"] = true, ["module"] = "canny", ["model"] = "control-tiny", ["threshold_a"] = 80, ["pixel_perfect"] = true,
        ["image"] = Convert.ToBase64String(File.ReadAllBytes(Path.Combine(Hints, "hint-a.png"))),
    };

    private static JsonObject Scripts() => new() { ["controlnet"] = new JsonObject { ["args"] = new JsonArray(Unit()) } };

    // The unit's text as A1111 quotes it (it holds commas and colons).
    private static string UnitText(A1111Request request) =>
        JsonSerializer.Serialize(request.ControlNet[0].Infotext, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static string[] Keys(JsonObject info) => [.. info["extra_generation_params"]!.AsObject().Select(p => p.Key)];

    [Fact]
    public void Hires_fix_with_a_ControlNet_unit_puts_Clip_skip_before_the_extras_and_the_unit_before_the_hires_keys()
    {
        var request = A1111Request.Parse(new JsonObject
        {
            ["prompt"] = "a cat", ["steps"] = 4, ["cfg_scale"] = 7, ["width"] = 64, ["height"] = 64, ["seed"] = 5, ["sampler_name"] = "Euler",
            ["scheduler"] = "Karras", ["enable_hr"] = true, ["hr_scale"] = 2, ["hr_second_pass_steps"] = 3, ["hr_upscaler"] = "Latent",
            ["denoising_strength"] = 0.5, ["alwayson_scripts"] = Scripts(),
        }, img2img: false);

        Assert.Equal(
            "a cat\nSteps: 4, Sampler: Euler, Schedule type: Karras, CFG scale: 7.0, Seed: 5, Size: 64x64, Model: sd1-tiny, Denoising strength: 0.5, "
            + $"Clip skip: 2, ControlNet 0: {UnitText(request)}, Hires upscale: 2.0, Hires steps: 3, Hires upscaler: Latent, Version: FlowDiffusion",
            A1111Infotext.Of(request, "sd1-tiny.safetensors", 2, 5));

        var info = A1111Infotext.Info(request, "sd1-tiny.safetensors", 2, 5, DateTimeOffset.UnixEpoch);
        Assert.Equal(["ControlNet 0", "Denoising strength", "Hires prompt", "Hires negative prompt", "Hires schedule type", "Hires upscale", "Hires steps", "Hires upscaler", "Schedule type"], Keys(info));
        var extra = info["extra_generation_params"]!;
        Assert.Null(extra["Hires prompt"]);
        Assert.Equal(2.0, extra["Hires upscale"]!.GetValue<double>());
        Assert.Equal(3, extra["Hires steps"]!.GetValue<int>());
        Assert.Equal("Karras", extra["Schedule type"]!.GetValue<string>());
        Assert.Equal(request.ControlNet[0].Infotext, extra["ControlNet 0"]!.GetValue<string>());
        // The info travels as JSON text: nulls and all.
        Assert.Contains("\"Hires prompt\":null", info.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_hires_resize_is_written_as_Hires_resize_and_a_float_one_as_Python_writes_it()
    {
        var request = A1111Request.Parse(new JsonObject
        {
            ["prompt"] = "a cat", ["negative_prompt"] = "dogs", ["steps"] = 4, ["cfg_scale"] = 6.5, ["width"] = 64, ["height"] = 64, ["seed"] = 5,
            ["sampler_name"] = "Euler", ["enable_hr"] = true, ["hr_resize_x"] = 128, ["hr_resize_y"] = 128, ["denoising_strength"] = 1,
        }, img2img: false);

        Assert.Equal(
            "a cat\nNegative prompt: dogs\nSteps: 4, Sampler: Euler, Schedule type: Automatic, CFG scale: 6.5, Seed: 7, Size: 64x64, Model: m, Denoising strength: 1.0, "
            + "Hires resize: 128x128, Hires upscaler: Latent, Version: FlowDiffusion",
            A1111Infotext.Of(request, "sub/m.ckpt", 1, 7));
        Assert.Equal(["Denoising strength", "Hires prompt", "Hires negative prompt", "Hires schedule type", "Hires resize", "Hires upscaler"],
            Keys(A1111Infotext.Info(request, "m.ckpt", 1, 7, DateTimeOffset.UnixEpoch)));
    }

    [Theory]
    [InlineData("DPM++ 2M", null, "Karras", "Karras")] // Automatic runs the sampler's own schedule, which the sampler writes
    [InlineData("DPM++ 2M SDE", null, "Exponential", "Exponential")]
    [InlineData("Euler a", null, "Automatic", null)] // the model's timesteps: the API's Automatic stays, no extra key
    [InlineData("Euler", "Uniform", "Uniform", "Uniform")]
    [InlineData("DPM++ 2M Karras", null, "Karras", "Karras")] // the old combined name
    public void The_schedule_type_is_the_requests_unless_the_sampler_runs_its_own(string sampler, string? scheduler, string written, string? extra)
    {
        var body = new JsonObject { ["prompt"] = "a cat", ["steps"] = 4, ["width"] = 64, ["height"] = 64, ["sampler_name"] = sampler };
        if (scheduler is not null) body["scheduler"] = scheduler;
        var request = A1111Request.Parse(body, img2img: false);
        Assert.Contains($"\nSteps: 4, Sampler: {request.Sampler.Name}, Schedule type: {written}, CFG scale: 7.0, Seed: 1, ", A1111Infotext.Of(request, "m", 1, 1), StringComparison.Ordinal);
        var extras = A1111Infotext.Info(request, "m", 1, 1, DateTimeOffset.UnixEpoch)["extra_generation_params"]!.AsObject();
        Assert.Equal(extra, extras["Schedule type"]?.GetValue<string>());
    }

    [Fact]
    public void Inpainting_with_a_unit_lists_the_unit_then_the_masks_keys_in_A1111s_order()
    {
        var png = Convert.ToBase64String(Images.SolidPng(64, 64, SKColors.Red));
        var mask = Convert.ToBase64String(Images.SolidPng(64, 64, SKColors.White));
        var request = A1111Request.Parse(new JsonObject
        {
            ["prompt"] = "a cat", ["steps"] = 4, ["cfg_scale"] = 7, ["width"] = 64, ["height"] = 64, ["seed"] = 5, ["sampler_name"] = "Euler",
            ["init_images"] = new JsonArray(png), ["mask"] = mask, ["mask_blur"] = 4, ["inpainting_mask_invert"] = 1, ["inpaint_full_res"] = true,
            ["inpaint_full_res_padding"] = 8, ["inpainting_fill"] = 0, ["denoising_strength"] = 0.75, ["alwayson_scripts"] = Scripts(),
        }, img2img: true);

        Assert.Equal(
            "a cat\nSteps: 4, Sampler: Euler, Schedule type: Automatic, CFG scale: 7.0, Seed: 5, Size: 64x64, Model: sd1-tiny, Denoising strength: 0.75, "
            + $"ControlNet 0: {UnitText(request)}, Mask mode: Inpaint not masked, Mask blur: 4, Inpaint area: Only masked, Masked area padding: 8, "
            + "Masked content: fill, Version: FlowDiffusion",
            A1111Infotext.Of(request, "sd1-tiny.safetensors", 1, 5));
        Assert.Equal(["ControlNet 0", "Denoising strength", "Mask mode", "Mask blur", "Inpaint area", "Masked area padding", "Masked content"],
            Keys(A1111Infotext.Info(request, "sd1-tiny.safetensors", 1, 5, DateTimeOffset.UnixEpoch)));
    }
}
