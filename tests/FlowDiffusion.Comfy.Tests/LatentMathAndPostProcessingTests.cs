using System.Text.Json.Nodes;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// LatentAdd, LatentSubtract, LatentMultiply, LatentInterpolate, LatentBatchSeedBehavior, ImageBlend, ImageBlur and
/// ImageSharpen through /prompt on analytic-sd, whose decoded colour is known in closed form: colour c samples to the
/// latent 0.18215 · M · (2c − 1) (M's columns orthonormal), and decoding gives back (u + 1) / 2 clamped, so latent
/// arithmetic is arithmetic on u = 2c − 1.
/// </summary>
public sealed class LatentMathAndPostProcessingTests
{
    [Fact]
    public async Task Latent_arithmetic_classes_map_and_decode_to_the_colours_worked_out_in_u()
    {
        await using var host = await ComfyHost.StartAsync();
        // Node 3 samples red (u = (1, −1, −1)); node 11 samples blue (u = (−1, −1, 1)) from the same empty latent.
        var prompt = Prompts.Txt2Img(text: "red", steps: 4);
        prompt["10"] = new JsonObject { ["class_type"] = "CLIPTextEncode", ["inputs"] = new JsonObject { ["clip"] = Link("4", 1), ["text"] = "blue" } };
        prompt["11"] = prompt["3"]!.DeepClone();
        prompt["11"]!["inputs"]!["positive"] = Link("10", 0);
        prompt["8"]!["inputs"]!["samples"] = Link("12", 0);

        // (red + blue + 1) / 2 = (0.5, −0.5 → 0, 0.5); (red − blue + 1) / 2 = (1.5 → 1, 0.5, −0.5 → 0); −red: cyan.
        (string Class, JsonObject Inputs, double R, double G, double B)[] cases =
        [
            ("LatentAdd", new JsonObject { ["samples1"] = Link("3", 0), ["samples2"] = Link("11", 0) }, 0.5, 0, 0.5),
            ("LatentSubtract", new JsonObject { ["samples1"] = Link("3", 0), ["samples2"] = Link("11", 0) }, 1, 0.5, 0),
            ("LatentMultiply", new JsonObject { ["samples"] = Link("3", 0), ["multiplier"] = -1.0 }, 0, 1, 1),
            // Unit vectors mixed 0.25 : 0.75, t = (−0.5, −1, 0.5)/√3 of length 1/√2, given length √3: u = (−0.5, −1, 0.5)·√2,
            // so (0.1464, 0, 0.8536); a plain lerp of the latents would give (0.25, 0, 0.75).
            ("LatentInterpolate", new JsonObject { ["samples1"] = Link("3", 0), ["samples2"] = Link("11", 0), ["ratio"] = 0.25 }, 0.1464466, 0, 0.8535534),
        ];
        foreach (var (type, inputs, red, green, blue) in cases)
        {
            prompt["12"] = new JsonObject { ["class_type"] = type, ["inputs"] = inputs };
            var (r, g, b, _, _) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, prompt));
            Assert.True(Math.Abs(r - red) < 0.01 && Math.Abs(g - green) < 0.01 && Math.Abs(b - blue) < 0.01, $"{type}: ({r:F4}, {g:F4}, {b:F4}), expected ({red}, {green}, {blue})");
        }
    }

    [Fact]
    public async Task LatentBatchSeedBehavior_fixed_gives_the_batch_one_noise_and_random_one_each()
    {
        await using var host = await ComfyHost.StartAsync();
        // KSamplerAdvanced stopped at step 2 of 4 with the noise left in: the decoded images show their starting noise.
        JsonObject Prompt(string behavior)
        {
            var prompt = Prompts.Txt2Img(text: "red", steps: 4, batch: 2);
            prompt["3"] = new JsonObject
            {
                ["class_type"] = "KSamplerAdvanced",
                ["inputs"] = new JsonObject
                {
                    ["model"] = Link("4", 0), ["add_noise"] = "enable", ["noise_seed"] = 5, ["steps"] = 4, ["cfg"] = 1, ["sampler_name"] = "euler",
                    ["scheduler"] = "normal", ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["latent_image"] = Link("20", 0),
                    ["start_at_step"] = 0, ["end_at_step"] = 2, ["return_with_leftover_noise"] = "enable",
                },
            };
            prompt["20"] = new JsonObject { ["class_type"] = "LatentBatchSeedBehavior", ["inputs"] = new JsonObject { ["samples"] = Link("5", 0), ["seed_behavior"] = behavior } };
            return prompt;
        }

        var same = await ClassMappingTests.AllImagesAsync(host, Prompt("fixed"));
        Assert.Equal(2, same.Count);
        Assert.True(ClassMappingTests.MeanDifference(ClassMappingTests.Pixels(same[0]), ClassMappingTests.Pixels(same[1])) < 0.002, $"fixed: the two items differ by {ClassMappingTests.MeanDifference(ClassMappingTests.Pixels(same[0]), ClassMappingTests.Pixels(same[1])):F4}");
        var apart = await ClassMappingTests.AllImagesAsync(host, Prompt("random"));
        Assert.True(ClassMappingTests.MeanDifference(ClassMappingTests.Pixels(apart[0]), ClassMappingTests.Pixels(apart[1])) > 0.05, $"random: the two items differ by only {ClassMappingTests.MeanDifference(ClassMappingTests.Pixels(apart[0]), ClassMappingTests.Pixels(apart[1])):F4}");
        Assert.True(ClassMappingTests.MeanDifference(ClassMappingTests.Pixels(same[0]), ClassMappingTests.Pixels(apart[0])) < 0.002, "item 0 keeps noise item 0 either way");
    }

    [Fact]
    public async Task ImageBlend_ImageBlur_and_ImageSharpen_map_and_give_the_worked_out_colours()
    {
        await using var host = await ComfyHost.StartAsync();
        // The red result and a 32 × 32 blue EmptyImage (resized to 64 × 64): screen gives magenta, normal at 0.25 mixes.
        var prompt = Prompts.Txt2Img(text: "red", steps: 2);
        prompt["30"] = new JsonObject { ["class_type"] = "EmptyImage", ["inputs"] = new JsonObject { ["width"] = 32, ["height"] = 32, ["batch_size"] = 1, ["color"] = 255 } };
        prompt["31"] = new JsonObject { ["class_type"] = "ImageBlend", ["inputs"] = new JsonObject
        {
            ["image1"] = Link("8", 0), ["image2"] = Link("30", 0), ["blend_factor"] = 1.0, ["blend_mode"] = "screen",
        } };
        prompt["9"]!["inputs"]!["images"] = Link("31", 0);
        var (r, g, b, width, height) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, prompt));
        Assert.True(r > 0.99 && g < 0.01 && b > 0.99 && (width, height) == (64, 64), $"screen: ({r:F3}, {g:F3}, {b:F3}) {width}×{height}");
        prompt["31"]!["inputs"]!["blend_factor"] = 0.25;
        prompt["31"]!["inputs"]!["blend_mode"] = "normal";
        (r, g, b, _, _) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, prompt));
        Assert.True(Math.Abs(r - 0.75) < 0.005 && g < 0.01 && Math.Abs(b - 0.25) < 0.005, $"normal at 0.25: ({r:F3}, {g:F3}, {b:F3})");

        // Blue pasted on the right half of the red result, blurred with radius 2, sigma 1: the taps at −1, −0.5, 0, 0.5, 1
        // weigh e^(−x²/2) / 3.97806, so the last red column keeps 0.5 + 0.251378 / 2 = 0.625689 red and 0.374311 blue.
        prompt["32"] = new JsonObject { ["class_type"] = "EmptyImage", ["inputs"] = new JsonObject { ["width"] = 32, ["height"] = 64, ["batch_size"] = 1, ["color"] = 255 } };
        prompt["33"] = new JsonObject { ["class_type"] = "ImageCompositeMasked", ["inputs"] = new JsonObject
        {
            ["destination"] = Link("8", 0), ["source"] = Link("32", 0), ["x"] = 32, ["y"] = 0, ["resize_source"] = false,
        } };
        prompt["34"] = new JsonObject { ["class_type"] = "ImageBlur", ["inputs"] = new JsonObject { ["image"] = Link("33", 0), ["blur_radius"] = 2, ["sigma"] = 1.0 } };
        prompt["35"] = new JsonObject { ["class_type"] = "ImageCrop", ["inputs"] = new JsonObject { ["image"] = Link("34", 0), ["width"] = 1, ["height"] = 64, ["x"] = 31, ["y"] = 0 } };
        prompt["9"]!["inputs"]!["images"] = Link("35", 0);
        (r, g, b, _, _) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, prompt));
        Assert.True(Math.Abs(r - 0.625689) < 0.005 && g < 0.01 && Math.Abs(b - 0.374311) < 0.005, $"blurred edge: ({r:F4}, {g:F4}, {b:F4})");

        // A grey step, 64/255 left and 192/255 right, sharpened with the same kernel and alpha 0.1 (the difference from the
        // blur added once): the last dark column is 64/255 − (128/255) · 0.374311 = 0.063094.
        prompt["36"] = new JsonObject { ["class_type"] = "EmptyImage", ["inputs"] = new JsonObject { ["width"] = 64, ["height"] = 64, ["batch_size"] = 1, ["color"] = 0x404040 } };
        prompt["37"] = new JsonObject { ["class_type"] = "EmptyImage", ["inputs"] = new JsonObject { ["width"] = 32, ["height"] = 64, ["batch_size"] = 1, ["color"] = 0xC0C0C0 } };
        prompt["33"]!["inputs"]!["destination"] = Link("36", 0);
        prompt["33"]!["inputs"]!["source"] = Link("37", 0);
        prompt["34"] = new JsonObject { ["class_type"] = "ImageSharpen", ["inputs"] = new JsonObject
        {
            ["image"] = Link("33", 0), ["sharpen_radius"] = 2, ["sigma"] = 1.0, ["alpha"] = 0.1,
        } };
        (r, g, b, _, _) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, prompt));
        Assert.True(new[] { r, g, b }.All(v => Math.Abs(v - 0.063094) < 0.005), $"sharpened edge: ({r:F4}, {g:F4}, {b:F4})");
    }

    [Fact]
    public async Task Out_of_range_inputs_are_node_errors_naming_them()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(text: "red", steps: 2);
        prompt["31"] = new JsonObject { ["class_type"] = "ImageBlur", ["inputs"] = new JsonObject { ["image"] = Link("8", 0), ["blur_radius"] = 32, ["sigma"] = 1.0 } };
        prompt["9"]!["inputs"]!["images"] = Link("31", 0);
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Contains("blur_radius: 32 is above 31", body.ToJsonString());
        prompt["31"] = new JsonObject { ["class_type"] = "ImageBlend", ["inputs"] = new JsonObject
        {
            ["image1"] = Link("8", 0), ["image2"] = Link("8", 0), ["blend_factor"] = 0.5, ["blend_mode"] = "darken",
        } };
        (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Contains("value_not_in_list", body.ToJsonString());
        Assert.Contains("blend_mode: \\u0027darken\\u0027 not in", body.ToJsonString());
    }
}
