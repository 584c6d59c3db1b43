using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// APG, CFGZeroStar and CFGNorm through /prompt on analytic-sd, whose x0 estimate is the prompt's colour c as the latent
/// k·M·u with u = 2c − 1, k = 0.18215 and M's columns orthonormal (so inner products and channel norms are those of u,
/// times k², summed over the 8 × 8 latent pixels), and whose image decodes to (u + 1) / 2 clamped. Euler's last step
/// returns its last x0 estimate. Positive red (u = (1, −1, −1)), negative green (u = (−1, 1, −1)): the guidance is
/// k·M·(2, −2, 0), whose part along red is ⁴⁄₃·(1, −1, −1) and the rest (⅔, −⅔, ⁴⁄₃); ‖g‖ = k·√8·8 = 4.1213 per image.
/// APG gives c + s·(rest + η·along) after the cap and the running average. The arithmetic itself is checked against torch
/// in FlowDiffusion.Diffusion.Tests (GuidancePatchesTests).
/// </summary>
public sealed class GuidancePatchTests
{
    [Theory]
    // η = −½ cancels the part along red: g′ = (0, 0, 2), and s = ½ gives u = (1, −1, 0). Plain CFG ½ would give (0.5, 0.5, 0).
    [InlineData(0.5, -0.5, 0.0, 0.0, 1, 1.0, 0.0, 0.5)]
    // The cap 2 scales g by 2 / 4.1213 = 0.48528 for each image of a batch of 2 (over the whole batch it would be 0.34315):
    // u_b = −1 + ½·2·0.48528.
    [InlineData(0.5, -0.5, 2.0, 0.0, 2, 1.0, 0.0, 0.24264)]
    // Momentum ½ over euler's 4 evaluations: the average is (1 + ½ + ¼ + ⅛)·g = 1.875·g at the last, u_b = −1 + 0.1·1.875·2.
    [InlineData(0.1, -0.5, 0.0, 0.5, 1, 1.0, 0.0, 0.1875)]
    // Scale 1: ComfyUI leaves the negative out and APG guides against a zero estimate: g = c, all along red, so
    // u = c + η·c = ½·(1, −1, −1). Plain CFG 1 would be red.
    [InlineData(1.0, -0.5, 0.0, 0.0, 1, 0.75, 0.25, 0.25)]
    public async Task APG_splits_the_guidance_along_the_conditional_estimate(double cfg, double eta, double threshold, double momentum, int batch, double r, double g, double b)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = RedOverGreen(cfg, batch);
        prompt["20"] = Node("APG", new JsonObject { ["model"] = Link("4", 0), ["eta"] = eta, ["norm_threshold"] = threshold, ["momentum"] = momentum });
        prompt["3"]!["inputs"]!["model"] = Link("20", 0);

        var colour = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(colour.R - r) < 0.02 && Math.Abs(colour.G - g) < 0.02 && Math.Abs(colour.B - b) < 0.02,
            $"cfg {cfg}, eta {eta}, threshold {threshold}, momentum {momentum}: ({colour.R:F3}, {colour.G:F3}, {colour.B:F3}), expected ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task A_CFGpp_sampler_at_scale_1_has_APG_guide_against_the_negative_as_ComfyUI_disables_its_shortcut_for_it()
    {
        // The negative (green) is evaluated: g′ = (0, 0, 2) at η = −½ and the image is c + g′ = (1, −1, 1), magenta;
        // euler_cfg_pp's last step lands on the guided estimate.
        await using var host = await ComfyHost.StartAsync();
        var prompt = RedOverGreen(1, 1);
        prompt["3"]!["inputs"]!["sampler_name"] = "euler_cfg_pp";
        prompt["20"] = Node("APG", new JsonObject { ["model"] = Link("4", 0), ["eta"] = -0.5, ["norm_threshold"] = 0, ["momentum"] = 0 });
        prompt["3"]!["inputs"]!["model"] = Link("20", 0);

        var colour = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(colour.R - 1) < 0.02 && Math.Abs(colour.G) < 0.02 && Math.Abs(colour.B - 1) < 0.02, $"({colour.R:F3}, {colour.G:F3}, {colour.B:F3})");
    }

    [Theory]
    // Negative empty (u = 0, x0 = 0): the guided estimate is s·c, its channel norm s·k·√3 per pixel against k·√3. Above
    // scale 1 CFGNorm brings it back to c, then the strength: ½·red. Below, the clamp at 1 keeps s·c: at ½ and strength 1,
    // u = ½·(1, −1, −1).
    [InlineData(2.0, 0.5, 0.75, 0.25, 0.25)]
    [InlineData(0.5, 1.0, 0.75, 0.25, 0.25)]
    // Strength 1.5 at scale 2: 1.5·red, clamped to (1, 0, 0).
    [InlineData(2.0, 1.5, 1.0, 0.0, 0.0)]
    public async Task CFGNorm_caps_each_pixel_at_the_conditional_estimates_length(double cfg, double strength, double r, double g, double b)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(text: "a red ball", steps: 4, cfg: cfg);
        prompt["20"] = Node("CFGNorm", new JsonObject { ["model"] = Link("4", 0), ["strength"] = strength });
        prompt["3"]!["inputs"]!["model"] = Link("20", 0);

        var colour = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(colour.R - r) < 0.02 && Math.Abs(colour.G - g) < 0.02 && Math.Abs(colour.B - b) < 0.02,
            $"cfg {cfg}, strength {strength}: ({colour.R:F3}, {colour.G:F3}, {colour.B:F3}), expected ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task CFGZeroStar_with_an_empty_negative_changes_nothing_and_with_another_prompt_moves_the_image()
    {
        // α scales the unconditional estimate, which is zero for the empty prompt; against green it is not.
        await using var host = await ComfyHost.StartAsync();
        var plainEmpty = await ClassMappingTests.RunMeanAsync(host, Prompts.Txt2Img(text: "a red ball", steps: 4, cfg: 0.5));
        var patchedEmpty = Prompts.Txt2Img(text: "a red ball", steps: 4, cfg: 0.5);
        patchedEmpty["20"] = Node("CFGZeroStar", new JsonObject { ["model"] = Link("4", 0) });
        patchedEmpty["3"]!["inputs"]!["model"] = Link("20", 0);
        var zeroEmpty = await ClassMappingTests.RunMeanAsync(host, patchedEmpty);
        Assert.True(Math.Abs(plainEmpty.R - zeroEmpty.R) < 0.005 && Math.Abs(plainEmpty.G - zeroEmpty.G) < 0.005 && Math.Abs(plainEmpty.B - zeroEmpty.B) < 0.005,
            $"empty negative: {zeroEmpty}, plain {plainEmpty}");

        var plainGreen = await ClassMappingTests.RunMeanAsync(host, RedOverGreen(0.5, 1));
        var patchedGreen = RedOverGreen(0.5, 1);
        patchedGreen["20"] = Node("CFGZeroStar", new JsonObject { ["model"] = Link("4", 0) });
        patchedGreen["3"]!["inputs"]!["model"] = Link("20", 0);
        var zeroGreen = await ClassMappingTests.RunMeanAsync(host, patchedGreen);
        Assert.True(Math.Abs(plainGreen.R - zeroGreen.R) + Math.Abs(plainGreen.G - zeroGreen.G) > 0.02, $"green negative: {zeroGreen}, plain {plainGreen}");
    }

    [Fact]
    public void The_patches_ride_on_the_model_to_the_guider_with_rescale_and_the_models_configuration()
    {
        var prompt = RedOverGreen(6, 1);
        prompt["20"] = Node("RescaleCFG", new JsonObject { ["model"] = Link("4", 0), ["multiplier"] = 0.5 });
        prompt["21"] = Node("APG", new JsonObject { ["model"] = Link("20", 0), ["eta"] = 0.3, ["norm_threshold"] = 4.0, ["momentum"] = -0.25 });
        prompt["22"] = Node("CFGZeroStar", new JsonObject { ["model"] = Link("21", 0) });
        prompt["23"] = Node("CFGNorm", new JsonObject { ["model"] = Link("22", 0), ["strength"] = 0.9 });
        prompt["3"]!["inputs"]!["model"] = Link("23", 0);

        var conversion = ApiPromptConverter.Convert(prompt, new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.GetTempPath()), requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var guider = conversion.Workflow!.Node(ApiPromptConverter.NodeId("3", "guider"))!;
        Assert.Equal("guidance.cfg", guider.Type);
        foreach (var (name, value) in new (string, object)[]
        {
            ("scale", 6.0), ("rescale", 0.5), ("apg", true), ("apg_eta", 0.3), ("apg_norm_threshold", 4.0), ("apg_momentum", -0.25), ("zero_star", true),
            ("cfg_norm", true), ("cfg_norm_strength", 0.9),
        })
            Assert.Equal(value, ((LiteralValue)guider.Parameter(name)!.Value).Value);
        Assert.Equal((ApiPromptConverter.NodeId("4"), "scheduler_config"), (guider.Edge("config")!.SourceNode, guider.Edge("config")!.SourceOutput));
    }

    [Theory]
    // APG divides by the scale: ComfyUI's result is NaN at cfg 0.
    [InlineData("APG", 0.0, "3", "APG divides by the CFG scale")]
    [InlineData("APG twice", 5.0, "21", "APG is already applied")]
    [InlineData("CFGNorm then CFGZeroStar", 5.0, "21", "CFGZeroStar after CFGNorm")]
    [InlineData("APG range", 5.0, "20", "momentum: 2 is above 1")]
    public async Task Unsupported_or_out_of_range_patches_are_node_errors(string chain, double cfg, string node, string message)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = RedOverGreen(cfg, 1);
        var apg = Node("APG", new JsonObject { ["model"] = Link("4", 0), ["eta"] = 1, ["norm_threshold"] = 5, ["momentum"] = chain == "APG range" ? 2 : 0 });
        prompt["20"] = chain == "CFGNorm then CFGZeroStar" ? Node("CFGNorm", new JsonObject { ["model"] = Link("4", 0), ["strength"] = 1 }) : apg;
        var last = "20";
        if (chain == "APG twice") (prompt["21"], last) = (Node("APG", new JsonObject { ["model"] = Link("20", 0), ["eta"] = 1, ["norm_threshold"] = 5, ["momentum"] = 0 }), "21");
        if (chain == "CFGNorm then CFGZeroStar") (prompt["21"], last) = (Node("CFGZeroStar", new JsonObject { ["model"] = Link("20", 0) }), "21");
        prompt["3"]!["inputs"]!["model"] = Link(last, 0);

        var (status, body) = await host.PostPromptAsync(prompt);

        Assert.Equal(400, status);
        Assert.Contains(message, body["node_errors"]![node]!["errors"]![0]!["details"]!.GetValue<string>());
    }

    [Fact]
    public async Task PerpNegGuider_after_a_patch_is_a_node_error()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = RedOverGreen(2, 1);
        prompt["20"] = Node("CFGNorm", new JsonObject { ["model"] = Link("4", 0), ["strength"] = 1 });
        prompt["11"] = Node("PerpNegGuider", new JsonObject
        {
            ["model"] = Link("20", 0), ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["empty_conditioning"] = Link("7", 0), ["cfg"] = 2, ["neg_scale"] = 1,
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
        Assert.Contains("before PerpNegGuider is not supported", body["node_errors"]!["11"]!["errors"]![0]!["details"]!.GetValue<string>());
    }

    // The default graph, 4 euler steps: positive "a red ball", negative "a green ball".
    internal static JsonObject RedOverGreen(double cfg, int batch)
    {
        var prompt = Prompts.Txt2Img(text: "a red ball", steps: 4, cfg: cfg, batch: batch);
        prompt["7"]!["inputs"]!["text"] = "a green ball";
        return prompt;
    }
}
