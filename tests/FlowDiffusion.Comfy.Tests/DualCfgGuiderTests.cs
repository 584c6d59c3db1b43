using System.Text.Json.Nodes;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// DualCFGGuider through SamplerCustomAdvanced on analytic-sd, whose x0 estimate is the prompt's colour: cond1 red,
/// cond2 green, negative the empty prompt (grey). Both styles are affine combinations of the three colours, so the image
/// is that combination: regular n + s₂·(m − n) + s₁·(p − m), nested n + s₂·(m + s₁·(p − m) − n), s₁ = cfg_conds and
/// s₂ = cfg_cond2_negative.
/// </summary>
public sealed class DualCfgGuiderTests
{
    [Theory]
    // regular, s₁ = ¼, s₂ = ½: ½·grey + ¼·green + ¼·red = (0.5, 0.5, 0.25).
    [InlineData("regular", 0.25, 0.5, 1, 0.5, 0.5, 0.25)]
    // nested, same scales: ½·grey + ⅜·green + ⅛·red = (0.375, 0.625, 0.25).
    [InlineData("nested", 0.25, 0.5, 1, 0.375, 0.625, 0.25)]
    // regular at s₂ = 1 (the negative left out of the call): green + ½·(red − green).
    [InlineData("regular", 0.5, 1.0, 1, 0.5, 0.5, 0.0)]
    // regular at both scales 1 (cond1 alone): red.
    [InlineData("regular", 1.0, 1.0, 1, 1.0, 0.0, 0.0)]
    // nested at s₂ = 1 evaluates all three and gives the same as regular there.
    [InlineData("nested", 0.5, 1.0, 1, 0.5, 0.5, 0.0)]
    // regular at s₁ = 1, s₂ = ¼: the negative is evaluated: ¾·grey + ¼·green + (red − green) = (1.375 → 1, −0.375 → 0, 0.375).
    [InlineData("regular", 1.0, 0.25, 1, 1.0, 0.0, 0.375)]
    // A batch of 2: every image gets the same colour.
    [InlineData("nested", 0.25, 0.5, 2, 0.375, 0.625, 0.25)]
    public async Task The_two_guidances_combine_as_the_style_says(string style, double cfgConds, double cfgNegative, int batch, double r, double g, double b)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = DualPrompt(style, cfgConds, cfgNegative, batch, "euler");

        var colour = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(colour.R - r) < 0.02 && Math.Abs(colour.G - g) < 0.02 && Math.Abs(colour.B - b) < 0.02,
            $"{style}, cfg_conds {cfgConds}, cfg_cond2_negative {cfgNegative}: ({colour.R:F3}, {colour.G:F3}, {colour.B:F3}), expected ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task A_CFGpp_sampler_steps_with_the_guided_estimate_and_the_same_image_results_on_analytic_sd()
    {
        // euler_cfg_pp renoises with the unconditional estimate (the negative's for regular); on analytic-sd every estimate is
        // exact, so the image is still the guided colour.
        await using var host = await ComfyHost.StartAsync();
        var colour = await ClassMappingTests.RunMeanAsync(host, DualPrompt("regular", 0.25, 0.5, 1, "euler_cfg_pp"));
        Assert.True(Math.Abs(colour.R - 0.5) < 0.03 && Math.Abs(colour.G - 0.5) < 0.03 && Math.Abs(colour.B - 0.25) < 0.03, $"({colour.R:F3}, {colour.G:F3}, {colour.B:F3})");
    }

    [Theory]
    [InlineData("RescaleCFG", "multiplier", 0.7)]
    [InlineData("CFGNorm", "strength", 1.0)]
    public async Task Patches_that_act_inside_its_cfg_are_node_errors_naming_the_model(string patch, string input, double value)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = DualPrompt("regular", 2, 2, 1, "euler");
        prompt["20"] = Node(patch, new JsonObject { ["model"] = Link("4", 0), [input] = value });
        prompt["11"]!["inputs"]!["model"] = Link("20", 0);

        var (status, body) = await host.PostPromptAsync(prompt);

        Assert.Equal(400, status);
        var error = body["node_errors"]!["11"]!["errors"]![0]!;
        Assert.Contains("before DualCFGGuider is not supported", error["details"]!.GetValue<string>());
    }

    [Fact]
    public async Task APG_before_it_changes_nothing_as_in_ComfyUI_whose_dual_guider_runs_no_pre_cfg_patch()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = DualPrompt("regular", 0.25, 0.5, 1, "euler");
        prompt["20"] = Node("APG", new JsonObject { ["model"] = Link("4", 0), ["eta"] = -1, ["norm_threshold"] = 1, ["momentum"] = 0.5 });
        prompt["11"]!["inputs"]!["model"] = Link("20", 0);

        var colour = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(colour.R - 0.5) < 0.02 && Math.Abs(colour.G - 0.5) < 0.02 && Math.Abs(colour.B - 0.25) < 0.02, $"({colour.R:F3}, {colour.G:F3}, {colour.B:F3})");
    }

    [Fact]
    public async Task A_style_outside_its_list_is_a_node_error()
    {
        await using var host = await ComfyHost.StartAsync();
        var (status, body) = await host.PostPromptAsync(DualPrompt("sideways", 2, 2, 1, "euler"));
        Assert.Equal(400, status);
        Assert.Equal("value_not_in_list", body["node_errors"]!["11"]!["errors"]![0]!["type"]!.GetValue<string>());
    }

    private static JsonObject DualPrompt(string style, double cfgConds, double cfgNegative, int batch, string sampler)
    {
        var prompt = Prompts.Txt2Img(text: "a red ball", steps: 4, batch: batch);
        prompt["10"] = Node("CLIPTextEncode", new JsonObject { ["clip"] = Link("4", 1), ["text"] = "a green ball" });
        prompt["11"] = Node("DualCFGGuider", new JsonObject
        {
            ["model"] = Link("4", 0), ["cond1"] = Link("6", 0), ["cond2"] = Link("10", 0), ["negative"] = Link("7", 0),
            ["cfg_conds"] = cfgConds, ["cfg_cond2_negative"] = cfgNegative, ["style"] = style,
        });
        prompt["12"] = Node("RandomNoise", new JsonObject { ["noise_seed"] = 3 });
        prompt["13"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = sampler });
        prompt["14"] = Node("BasicScheduler", new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = "normal", ["steps"] = 4, ["denoise"] = 1 });
        prompt["3"] = Node("SamplerCustomAdvanced", new JsonObject
        {
            ["noise"] = Link("12", 0), ["guider"] = Link("11", 0), ["sampler"] = Link("13", 0), ["sigmas"] = Link("14", 0), ["latent_image"] = Link("5", 0),
        });
        return prompt;
    }
}
