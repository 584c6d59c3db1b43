using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.ClassMappingTests;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ConditioningSetArea, ConditioningSetAreaPercentage, ConditioningSetMask, LoadImage's MASK and LoadImageMask's channels run
/// end to end on analytic-sd (each half's colour known in closed form); ControlNetLoader / ControlNetApply /
/// ControlNetApplyAdvanced convert onto controlnet.load and controlnet.apply.
/// </summary>
public sealed class RegionAndControlNetMappingTests
{
    [Theory]
    [InlineData("ConditioningSetArea")]
    [InlineData("ConditioningSetAreaPercentage")]
    public async Task An_area_conditioning_blends_with_the_whole_image_prompt_on_its_half_only(string type)
    {
        await using var host = await ComfyHost.StartAsync();
        // 128 × 128: latent 16 × 16, the left half 8 columns wide with its inner edge ramped over min(8, 8 / 4) = 2 columns
        // (weights 1 then 0.5). Columns 0–6: (blue + red) / 2 = (0.5, 0, 0.5); column 7: (blue + ½·red) / 1.5 = (⅓, 0, ⅔);
        // the left half's mean (0.479, 0, 0.521); the right half blue.
        var prompt = Prompts.Txt2Img(text: "blue", steps: 6, size: 128);
        prompt["20"] = new JsonObject { ["class_type"] = "CLIPTextEncode", ["inputs"] = new JsonObject { ["clip"] = Link("4", 1), ["text"] = "red" } };
        prompt["21"] = type == "ConditioningSetArea"
            ? new JsonObject { ["class_type"] = type, ["inputs"] = new JsonObject { ["conditioning"] = Link("20", 0), ["width"] = 64, ["height"] = 128, ["x"] = 0, ["y"] = 0, ["strength"] = 1.0 } }
            : new JsonObject { ["class_type"] = type, ["inputs"] = new JsonObject { ["conditioning"] = Link("20", 0), ["width"] = 0.5, ["height"] = 1.0, ["x"] = 0, ["y"] = 0, ["strength"] = 1.0 } };
        prompt["22"] = new JsonObject { ["class_type"] = "ConditioningCombine", ["inputs"] = new JsonObject { ["conditioning_1"] = Link("6", 0), ["conditioning_2"] = Link("21", 0) } };
        prompt["3"]!["inputs"]!["positive"] = Link("22", 0);

        var (left, right) = Halves(await RunForImageAsync(host, prompt));

        Near(((7 * 0.5 + 1 / 3.0) / 8, 0, (7 * 0.5 + 2 / 3.0) / 8), left, "left");
        Near((0, 0, 1), right, "right");
    }

    [Fact]
    public async Task LoadImage_mask_is_one_minus_alpha_and_weighs_a_conditioning_through_ConditioningSetMask()
    {
        await using var host = await ComfyHost.StartAsync();
        // Opaque red on the left, transparent black on the right: ComfyUI's MASK = 1 − alpha is 1 on the right, the red channel 1 on the left.
        using var bitmap = new SKBitmap(new SKImageInfo(64, 64, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < 64; y++)
        for (var x = 0; x < 64; x++)
            bitmap.SetPixel(x, y, x < 32 ? new SKColor(255, 0, 0, 255) : new SKColor(0, 0, 0, 0));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var name = await UploadAsync(host, "/upload/image", "alpha.png", data.ToArray());

        var prompt = Prompts.Txt2Img(text: "blue", steps: 6);
        prompt["20"] = new JsonObject { ["class_type"] = "CLIPTextEncode", ["inputs"] = new JsonObject { ["clip"] = Link("4", 1), ["text"] = "red" } };
        prompt["23"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = name } };
        prompt["21"] = new JsonObject { ["class_type"] = "ConditioningSetMask", ["inputs"] = new JsonObject
            { ["conditioning"] = Link("20", 0), ["mask"] = Link("23", 1), ["strength"] = 3.0, ["set_cond_area"] = "mask bounds" } };
        prompt["22"] = new JsonObject { ["class_type"] = "ConditioningCombine", ["inputs"] = new JsonObject { ["conditioning_1"] = Link("6", 0), ["conditioning_2"] = Link("21", 0) } };
        prompt["3"]!["inputs"]!["positive"] = Link("22", 0);

        // Right: (blue + 3·red) / 4 = (0.75, 0, 0.25); left: blue.
        var (left, right) = Halves(await RunForImageAsync(host, prompt));
        Near((0, 0, 1), left, "left");
        Near((0.75, 0, 0.25), right, "right");

        // LoadImageMask reads a colour channel as it is: red is 1 on the left, so there the red prompt weighs 3.
        prompt["24"] = new JsonObject { ["class_type"] = "LoadImageMask", ["inputs"] = new JsonObject { ["image"] = name, ["channel"] = "red" } };
        prompt["21"]!["inputs"]!["mask"] = Link("24", 0);
        prompt["21"]!["inputs"]!["set_cond_area"] = "default";
        (left, right) = Halves(await RunForImageAsync(host, prompt));
        Near((0.75, 0, 0.25), left, "left, red channel");
        Near((0, 0, 1), right, "right, red channel");
    }

    [Fact]
    public void ControlNet_classes_convert_to_load_and_apply_nodes_and_the_advanced_one_applies_one_hint_to_both_conditionings()
    {
        var models = Path.Combine(Path.GetTempPath(), "fd-comfy-cn-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(models, "controlnet"));
        File.WriteAllBytes(Path.Combine(models, "controlnet", "canny.safetensors"), [0]);
        try
        {
            var folders = new ComfyFolders(models, RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));
            var prompt = Prompts.Txt2Img();
            prompt["30"] = new JsonObject { ["class_type"] = "ControlNetLoader", ["inputs"] = new JsonObject { ["control_net_name"] = "canny.safetensors" } };
            prompt["31"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = "edges.png" } };
            prompt["32"] = new JsonObject { ["class_type"] = "ControlNetApply", ["inputs"] = new JsonObject
                { ["conditioning"] = Link("6", 0), ["control_net"] = Link("30", 0), ["image"] = Link("31", 0), ["strength"] = 0.8 } };
            prompt["33"] = new JsonObject { ["class_type"] = "ControlNetApplyAdvanced", ["inputs"] = new JsonObject
            {
                ["positive"] = Link("32", 0), ["negative"] = Link("7", 0), ["control_net"] = Link("30", 0), ["image"] = Link("31", 0),
                ["strength"] = 0.5, ["start_percent"] = 0.1, ["end_percent"] = 0.9,
            } };
            prompt["3"]!["inputs"]!["positive"] = Link("33", 0);
            prompt["3"]!["inputs"]!["negative"] = Link("33", 1);

            var conversion = ApiPromptConverter.Convert(prompt, folders, requireFiles: false);

            Assert.Empty(conversion.NodeErrors);
            var workflow = conversion.Workflow!;
            var load = workflow.Node(ApiPromptConverter.NodeId("30"))!;
            Assert.Equal("controlnet.load", load.Type);
            Assert.EndsWith(Path.Combine("controlnet", "canny.safetensors"), (string)((LiteralValue)load.Parameter("path")!.Value).Value!);
            var simple = workflow.Node(ApiPromptConverter.NodeId("32"))!;
            Assert.Equal(("controlnet.apply", ApiPromptConverter.NodeId("6")), (simple.Type, simple.Edge("conditioning")!.SourceNode));
            Assert.Equal(0.8, (double)((LiteralValue)simple.Parameter("strength")!.Value).Value!);
            var positive = workflow.Node(ApiPromptConverter.NodeId("33"))!;
            var negative = workflow.Node(ApiPromptConverter.NodeId("33", "negative"))!;
            Assert.Equal(simple.Id, positive.Edge("conditioning")!.SourceNode);
            Assert.Equal(ApiPromptConverter.NodeId("7"), negative.Edge("conditioning")!.SourceNode);
            foreach (var apply in new[] { positive, negative })
            {
                Assert.Equal("controlnet.apply", apply.Type);
                Assert.Equal(ApiPromptConverter.NodeId("31"), apply.Edge("image")!.SourceNode);
                Assert.Equal(load.Id, apply.Edge("control_net")!.SourceNode);
                Assert.Equal([0.5, 0.1, 0.9], new[] { "strength", "start_percent", "end_percent" }.Select(p => (double)((LiteralValue)apply.Parameter(p)!.Value).Value!));
            }

            var guider = workflow.Node(ApiPromptConverter.NodeId("3", "guider"))!;
            Assert.Equal((positive.Id, negative.Id), (guider.Edge("positive")!.SourceNode, guider.Edge("negative")!.SourceNode));
        }
        finally
        {
            Directory.Delete(models, recursive: true);
        }
    }

    [Fact]
    public void VAEEncodeForInpaint_grows_the_noise_mask_with_mask_grow_and_masks_the_pixels_with_the_mask_as_drawn()
    {
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));
        var prompt = Prompts.Txt2Img();
        prompt["12"] = new JsonObject { ["class_type"] = "LoadImage", ["inputs"] = new JsonObject { ["image"] = "photo.png" } };
        prompt["20"] = new JsonObject { ["class_type"] = "LoadImageMask", ["inputs"] = new JsonObject { ["image"] = "mask.png", ["channel"] = "alpha" } };
        prompt["13"] = new JsonObject { ["class_type"] = "VAEEncodeForInpaint", ["inputs"] = new JsonObject
            { ["pixels"] = Link("12", 0), ["vae"] = Link("4", 2), ["mask"] = Link("20", 0), ["grow_mask_by"] = 6 } };
        prompt["3"]!["inputs"]!["latent_image"] = Link("13", 0);

        var conversion = ApiPromptConverter.Convert(prompt, folders, requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var workflow = conversion.Workflow!;
        var mask = workflow.Node(ApiPromptConverter.NodeId("20"))!;
        Assert.Equal("alpha", (string)((LiteralValue)mask.Parameter("channel")!.Value).Value!);
        var grow = workflow.Node(ApiPromptConverter.NodeId("13", "grow"))!;
        Assert.Equal(("mask.grow", mask.Id, 6L), (grow.Type, grow.Edge("mask")!.SourceNode, (long)((LiteralValue)grow.Parameter("pixels")!.Value).Value!));
        Assert.Equal(mask.Id, workflow.Node(ApiPromptConverter.NodeId("13"))!.Edge("mask")!.SourceNode);
        Assert.Equal(grow.Id, workflow.Node(ApiPromptConverter.NodeId("3"))!.Edge("mask")!.SourceNode);
    }

    private static ((double R, double G, double B) Left, (double R, double G, double B) Right) Halves(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png);
        (double, double, double) Mean(int from, int to)
        {
            double r = 0, g = 0, b = 0;
            var n = 0;
            for (var y = 0; y < bitmap.Height; y++)
            for (var x = from; x < to; x++, n++)
            {
                var c = bitmap.GetPixel(x, y);
                r += c.Red / 255.0;
                g += c.Green / 255.0;
                b += c.Blue / 255.0;
            }

            return (r / n, g / n, b / n);
        }

        return (Mean(0, bitmap.Width / 2), Mean(bitmap.Width / 2, bitmap.Width));
    }

    private static void Near((double R, double G, double B) expected, (double R, double G, double B) actual, string what) =>
        Assert.True(Math.Max(Math.Abs(expected.R - actual.R), Math.Max(Math.Abs(expected.G - actual.G), Math.Abs(expected.B - actual.B))) < 0.03,
            $"{what}: expected {expected}, got ({actual.R:F3}, {actual.G:F3}, {actual.B:F3})");
}
