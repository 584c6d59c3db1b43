using System.Text.Json.Nodes;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// PerpNegGuider through SamplerCustomAdvanced on analytic-sd, whose x0 is the prompt's colour (grey for the empty prompt):
/// with e = grey, pos = red − e = (½, −½, −½) and neg = green − e = (−½, ½, −½), ⟨neg, pos⟩ / ‖pos‖² = −⅓, so
/// perp = neg + ⅓·pos = (−⅓, ⅓, −⅔) and the image is e + s·(pos − k·perp).
/// </summary>
public sealed class PerpNegGuiderTests
{
    [Theory]
    // s = ½, k = 1: (0.5 + ½·(½ + ⅓), 0.5 + ½·(−½ − ⅓), 0.5 + ½·(−½ + ⅔)). CFG with the green negative would give (0.5, 0.5, 0).
    [InlineData(0.5, 1.0, 11 / 12.0, 1 / 12.0, 7 / 12.0)]
    // k = 0: plain guidance from the empty prompt, e + ½·pos.
    [InlineData(0.5, 0.0, 0.75, 0.25, 0.25)]
    // s = ¼, k = 2: e + ¼·(pos − 2·perp) = (0.5 + ¼·(½ + ⅔), 0.5 + ¼·(−½ − ⅔), 0.5 + ¼·(−½ + 4/3)).
    [InlineData(0.25, 2.0, 0.5 + 7 / 24.0, 0.5 - 7 / 24.0, 0.5 + 5 / 24.0)]
    public async Task The_negative_acts_through_its_part_perpendicular_to_the_positive(double cfg, double negScale, double r, double g, double b)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(text: "a red ball", steps: 4);
        prompt["10"] = Node("CLIPTextEncode", new JsonObject { ["clip"] = Link("4", 1), ["text"] = "a green ball" });
        prompt["11"] = Node("PerpNegGuider", new JsonObject
        {
            ["model"] = Link("4", 0), ["positive"] = Link("6", 0), ["negative"] = Link("10", 0), ["empty_conditioning"] = Link("7", 0),
            ["cfg"] = cfg, ["neg_scale"] = negScale,
        });
        prompt["12"] = Node("RandomNoise", new JsonObject { ["noise_seed"] = 3 });
        prompt["13"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler" });
        prompt["14"] = Node("BasicScheduler", new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = "normal", ["steps"] = 4, ["denoise"] = 1 });
        prompt["3"] = Node("SamplerCustomAdvanced", new JsonObject
        {
            ["noise"] = Link("12", 0), ["guider"] = Link("11", 0), ["sampler"] = Link("13", 0), ["sigmas"] = Link("14", 0), ["latent_image"] = Link("5", 0),
        });

        var colour = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(colour.R - r) < 0.02 && Math.Abs(colour.G - g) < 0.02 && Math.Abs(colour.B - b) < 0.02,
            $"cfg {cfg}, neg_scale {negScale}: ({colour.R:F3}, {colour.G:F3}, {colour.B:F3}), expected ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task RescaleCFG_before_it_is_a_node_error_naming_the_model_input()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(text: "a red ball", steps: 2);
        prompt["15"] = Node("RescaleCFG", new JsonObject { ["model"] = Link("4", 0), ["multiplier"] = 0.7 });
        prompt["11"] = Node("PerpNegGuider", new JsonObject
        {
            ["model"] = Link("15", 0), ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["empty_conditioning"] = Link("7", 0), ["cfg"] = 2, ["neg_scale"] = 1,
        });
        prompt["12"] = Node("RandomNoise", new JsonObject { ["noise_seed"] = 3 });
        prompt["13"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler" });
        prompt["14"] = Node("BasicScheduler", new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = "normal", ["steps"] = 2, ["denoise"] = 1 });
        prompt["3"] = Node("SamplerCustomAdvanced", new JsonObject
        {
            ["noise"] = Link("12", 0), ["guider"] = Link("11", 0), ["sampler"] = Link("13", 0), ["sigmas"] = Link("14", 0), ["latent_image"] = Link("5", 0),
        });

        var (status, body) = await host.PostPromptAsync(prompt);

        Assert.Equal(400, status);
        Assert.Contains("RescaleCFG before PerpNegGuider", body["node_errors"]!["11"]!["errors"]![0]!["details"]!.GetValue<string>());
    }
}
