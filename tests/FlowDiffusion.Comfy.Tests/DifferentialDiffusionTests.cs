using System.Text.Json.Nodes;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// DifferentialDiffusion through /prompt on analytic-sd (x0 is the prompt's colour): a red image repainted blue under a
/// uniform soft noise mask m, euler over the "simple" schedule at 2 steps (timesteps 999 and 499, so the last evaluation's
/// threshold is 499/999). The sampler's last x is its last x0 estimate, blended with the image by that evaluation's mask,
/// then blended with the image by m once more.
/// </summary>
public sealed class DifferentialDiffusionTests
{
    [Theory]
    // m = 0.4 is below the last threshold 0.4995: the evaluation keeps the image, so the result stays red.
    [InlineData(0.4, 1.0, 1.0, 0.0)]
    // m = 0.6 passes it: the estimate is blue, and the final blend by 0.6 gives (0.4, 0, 0.6).
    [InlineData(0.6, 1.0, 0.4, 0.6)]
    // Strength 0.5 mixes the binary 1 with 0.6: 0.8 blue at the last evaluation, 0.6 · 0.8 = 0.48 after the final blend.
    [InlineData(0.6, 0.5, 0.52, 0.48)]
    // Strength 0 is the binary mask, as ComfyUI's "if strength and strength < 1" makes it.
    [InlineData(0.6, 0.0, 0.4, 0.6)]
    // Without DifferentialDiffusion the soft mask blends twice: 0.6 · 0.6 = 0.36 blue.
    [InlineData(0.6, -1.0, 0.64, 0.36)]
    public async Task The_soft_mask_becomes_a_threshold_that_falls_over_the_steps(double mask, double strength, double r, double b)
    {
        await using var host = await ComfyHost.StartAsync();
        var red = await ClassMappingTests.UploadAsync(host, "/upload/image", "red.png", Images.SolidPng(64, 64, new SKColor(255, 0, 0)));
        var prompt = Prompts.Txt2Img(text: "a blue ball", steps: 2, scheduler: "simple");
        prompt["12"] = Node("LoadImage", new JsonObject { ["image"] = red });
        prompt["13"] = Node("VAEEncode", new JsonObject { ["pixels"] = Link("12", 0), ["vae"] = Link("4", 2) });
        prompt["14"] = Node("SolidMask", new JsonObject { ["value"] = mask, ["width"] = 64, ["height"] = 64 });
        prompt["15"] = Node("SetLatentNoiseMask", new JsonObject { ["samples"] = Link("13", 0), ["mask"] = Link("14", 0) });
        prompt["3"]!["inputs"]!["latent_image"] = Link("15", 0);
        if (strength >= 0)
        {
            prompt["16"] = Node("DifferentialDiffusion", new JsonObject { ["model"] = Link("4", 0), ["strength"] = strength });
            prompt["3"]!["inputs"]!["model"] = Link("16", 0);
        }

        var colour = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(colour.R - r) < 0.02 && colour.G < 0.02 && Math.Abs(colour.B - b) < 0.02,
            $"mask {mask}, strength {strength}: ({colour.R:F3}, {colour.G:F3}, {colour.B:F3}), expected ({r}, 0, {b})");
    }
}
