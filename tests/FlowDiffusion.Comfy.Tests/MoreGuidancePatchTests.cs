using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// TCFG, LatentApplyOperationCFG, Mahiro and Epsilon Scaling riding on the MODEL to guidance.cfg, and LatentApplyOperation
/// on a LATENT, through the converter and through /prompt on analytic-sd (its x0 estimate the prompt's colour as the
/// constant latent k·M·u, decoded to (u + 1)/2; see <see cref="GuidancePatchTests"/>). A constant latent field has one
/// channel-vector length m everywhere (std 0), so the Reinhard tone map scales it by multiplier / (1 + multiplier). The
/// arithmetic itself is checked against torch in FlowDiffusion.Diffusion.Tests (MoreGuidancePatchesTests, LatentOperationsTests).
/// </summary>
public sealed class MoreGuidancePatchTests
{
    [Fact]
    public void The_patches_ride_on_the_model_to_the_guider_in_comfyuis_order()
    {
        var prompt = GuidancePatchTests.RedOverGreen(6, 1);
        prompt["20"] = Node("TCFG", new JsonObject { ["model"] = Link("4", 0) });
        prompt["21"] = Node("LatentOperationSharpen", new JsonObject { ["sharpen_radius"] = 3, ["sigma"] = 0.7, ["alpha"] = 0.2 });
        prompt["22"] = Node("LatentApplyOperationCFG", new JsonObject { ["model"] = Link("20", 0), ["operation"] = Link("21", 0) });
        prompt["23"] = Node("APG", new JsonObject { ["model"] = Link("22", 0), ["eta"] = 0.3, ["norm_threshold"] = 4.0, ["momentum"] = 0 });
        prompt["24"] = Node("CFGZeroStar", new JsonObject { ["model"] = Link("23", 0) });
        prompt["25"] = Node("Mahiro", new JsonObject { ["model"] = Link("24", 0) });
        prompt["26"] = Node("Epsilon Scaling", new JsonObject { ["model"] = Link("25", 0), ["scaling_factor"] = 1.01 });
        prompt["3"]!["inputs"]!["model"] = Link("26", 0);

        var conversion = Convert(prompt);

        Assert.Empty(conversion.NodeErrors);
        var guider = conversion.Workflow!.Node(ApiPromptConverter.NodeId("3", "guider"))!;
        foreach (var (name, value) in new (string, object)[]
        {
            ("scale", 6.0), ("tcfg", true), ("latent_operation", "sharpen"), ("latent_operation_sharpen_radius", 3L), ("latent_operation_sigma", 0.7),
            ("latent_operation_alpha", 0.2), ("apg", true), ("zero_star", true), ("mahiro", true), ("epsilon_scaling", 1.01),
        })
            Assert.Equal(value, ((LiteralValue)guider.Parameter(name)!.Value).Value);
        Assert.Equal((ApiPromptConverter.NodeId("4"), "scheduler_config"), (guider.Edge("config")!.SourceNode, guider.Edge("config")!.SourceOutput));
    }

    [Fact]
    public void LatentApplyOperation_maps_to_latent_operation_with_the_operations_settings_and_keeps_the_noise_mask()
    {
        var prompt = Txt2Img(cfg: 2);
        prompt["20"] = Node("LatentOperationTonemapReinhard", new JsonObject { ["multiplier"] = 0.4 });
        prompt["21"] = Node("SolidMask", new JsonObject { ["value"] = 1.0, ["width"] = 64, ["height"] = 64 });
        prompt["22"] = Node("SetLatentNoiseMask", new JsonObject { ["samples"] = Link("5", 0), ["mask"] = Link("21", 0) });
        prompt["23"] = Node("LatentApplyOperation", new JsonObject { ["samples"] = Link("22", 0), ["operation"] = Link("20", 0) });
        prompt["3"]!["inputs"]!["latent_image"] = Link("23", 0);

        var conversion = Convert(prompt);

        Assert.Empty(conversion.NodeErrors);
        var node = conversion.Workflow!.Node(ApiPromptConverter.NodeId("23"))!;
        Assert.Equal("latent.operation", node.Type);
        Assert.Equal("tonemap_reinhard", ((LiteralValue)node.Parameter("operation")!.Value).Value);
        Assert.Equal(0.4, ((LiteralValue)node.Parameter("multiplier")!.Value).Value);
        Assert.NotNull(conversion.Workflow.Node(ApiPromptConverter.NodeId("3"))!.Edge("mask"));
    }

    [Theory]
    [InlineData("APG then TCFG", "TCFG after LatentApplyOperationCFG or APG is not supported")]
    [InlineData("APG then LatentApplyOperationCFG", "LatentApplyOperationCFG after APG is not supported")]
    [InlineData("Epsilon Scaling then Mahiro", "Mahiro after Epsilon Scaling is not supported")]
    [InlineData("Mahiro then CFGNorm", "CFGNorm after Mahiro is not supported")]
    [InlineData("Epsilon Scaling then CFGZeroStar", "CFGZeroStar after Epsilon Scaling is not supported")]
    [InlineData("TCFG then TCFG", "TCFG is already applied")]
    [InlineData("Mahiro then Mahiro", "Mahiro is already applied")]
    [InlineData("Epsilon Scaling then Epsilon Scaling", "Epsilon Scaling is already applied")]
    public void Orders_guidance_cfg_does_not_run_and_repeated_patches_are_node_errors(string chain, string message)
    {
        var parts = chain.Split(" then ");
        var prompt = GuidancePatchTests.RedOverGreen(4, 1);
        prompt["20"] = Patch(parts[0], "4");
        prompt["21"] = Patch(parts[1], "20");
        prompt["30"] = Node("LatentOperationTonemapReinhard", new JsonObject { ["multiplier"] = 1 });
        prompt["3"]!["inputs"]!["model"] = Link("21", 0);

        var conversion = Convert(prompt);

        Assert.Contains(message, conversion.NodeErrors["21"].Errors[0].Details);
    }

    [Theory]
    [InlineData("Mahiro", "Mahiro or Epsilon Scaling before DualCFGGuider is not supported")]
    [InlineData("Epsilon Scaling", "Mahiro or Epsilon Scaling before DualCFGGuider is not supported")]
    public void A_post_cfg_patch_before_DualCFGGuider_is_a_node_error(string patch, string message)
    {
        var prompt = GuidancePatchTests.RedOverGreen(4, 1);
        prompt["20"] = Patch(patch, "4");
        prompt["11"] = Node("DualCFGGuider", new JsonObject
        {
            ["model"] = Link("20", 0), ["cond1"] = Link("6", 0), ["cond2"] = Link("7", 0), ["negative"] = Link("7", 0), ["cfg_conds"] = 2, ["cfg_cond2_negative"] = 2, ["style"] = "regular",
        });
        prompt["12"] = Node("RandomNoise", new JsonObject { ["noise_seed"] = 3 });
        prompt["13"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler" });
        prompt["14"] = Node("BasicScheduler", new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = "normal", ["steps"] = 2, ["denoise"] = 1 });
        prompt["3"] = Node("SamplerCustomAdvanced", new JsonObject
        {
            ["noise"] = Link("12", 0), ["guider"] = Link("11", 0), ["sampler"] = Link("13", 0), ["sigmas"] = Link("14", 0), ["latent_image"] = Link("5", 0),
        });

        Assert.Contains(message, Convert(prompt).NodeErrors["11"].Errors[0].Details);
    }

    [Theory]
    [InlineData("Epsilon Scaling", "scaling_factor", 1.6)]
    [InlineData("LatentOperationSharpen", "sharpen_radius", 32)]
    [InlineData("LatentOperationSharpen", "sigma", 0.05)]
    [InlineData("LatentOperationTonemapReinhard", "multiplier", 101)]
    public void Settings_outside_comfyuis_ranges_are_node_errors(string type, string input, double value)
    {
        var prompt = GuidancePatchTests.RedOverGreen(4, 1);
        prompt["30"] = type == "LatentOperationSharpen" ? Node(type, new JsonObject { ["sharpen_radius"] = 9, ["sigma"] = 1.0, ["alpha"] = 0.1 })
            : Node("LatentOperationTonemapReinhard", new JsonObject { ["multiplier"] = 1 });
        prompt["20"] = type == "Epsilon Scaling" ? Patch(type, "4") : Node("LatentApplyOperationCFG", new JsonObject { ["model"] = Link("4", 0), ["operation"] = Link("30", 0) });
        (type == "Epsilon Scaling" ? prompt["20"]! : prompt["30"]!)["inputs"]![input] = value;
        prompt["3"]!["inputs"]!["model"] = Link("20", 0);

        var errors = Convert(prompt).NodeErrors;

        Assert.Contains(input, errors[type == "Epsilon Scaling" ? "20" : "30"].Errors[0].Details);
    }

    [Theory]
    // Multiplier 1 halves the constant guidance: cfg 1.5 acts as 0.75, u = (−1, 1, −1) + 0.75·(2, −2, 0). Plain 1.5 gives (1, 0, 0).
    [InlineData(1.5, 1.0, 0.75, 0.25, 0.0)]
    // cfg 1: ComfyUI leaves the negative out and the operation runs on the conditional estimate itself, ¾ of red at
    // multiplier 3: u = ¾·(1, −1, −1). Plain CFG 1 is red.
    [InlineData(1.0, 3.0, 0.875, 0.125, 0.125)]
    public async Task LatentApplyOperationCFG_with_the_tone_map_shrinks_a_constant_guidance_by_multiplier_over_1_plus_multiplier(double cfg, double multiplier, double r, double g, double b)
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = GuidancePatchTests.RedOverGreen(cfg, 1);
        prompt["20"] = Node("LatentOperationTonemapReinhard", new JsonObject { ["multiplier"] = multiplier });
        prompt["21"] = Node("LatentApplyOperationCFG", new JsonObject { ["model"] = Link("4", 0), ["operation"] = Link("20", 0) });
        prompt["3"]!["inputs"]!["model"] = Link("21", 0);

        var colour = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(colour.R - r) < 0.02 && Math.Abs(colour.G - g) < 0.02 && Math.Abs(colour.B - b) < 0.02,
            $"cfg {cfg}, multiplier {multiplier}: ({colour.R:F3}, {colour.G:F3}, {colour.B:F3}), expected ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task LatentApplyOperation_tone_maps_the_sampled_constant_latent_by_multiplier_over_1_plus_multiplier()
    {
        // Red's latent halved: u = ½·(1, −1, −1), the image (0.75, 0.25, 0.25).
        await using var host = await ComfyHost.StartAsync();
        var prompt = Txt2Img(text: "a red ball", steps: 4);
        prompt["20"] = Node("LatentOperationTonemapReinhard", new JsonObject { ["multiplier"] = 1.0 });
        prompt["21"] = Node("LatentApplyOperation", new JsonObject { ["samples"] = Link("3", 0), ["operation"] = Link("20", 0) });
        prompt["8"]!["inputs"]!["samples"] = Link("21", 0);

        var colour = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(colour.R - 0.75) < 0.02 && Math.Abs(colour.G - 0.25) < 0.02 && Math.Abs(colour.B - 0.25) < 0.02, $"({colour.R:F3}, {colour.G:F3}, {colour.B:F3})");
    }

    [Fact]
    public async Task Mahiro_with_an_empty_negative_changes_nothing_and_with_another_prompt_moves_the_image()
    {
        // With u = 0 the similarity is 0 and Mahiro returns (g + s·c)/2 = g; against green it mixes in the leap s·c.
        await using var host = await ComfyHost.StartAsync();
        var plain = await ClassMappingTests.RunMeanAsync(host, Txt2Img(text: "a red ball", steps: 4, cfg: 0.5));
        var patched = Txt2Img(text: "a red ball", steps: 4, cfg: 0.5);
        Patch(patched, "Mahiro");
        var mahiro = await ClassMappingTests.RunMeanAsync(host, patched);
        Assert.True(Math.Abs(plain.R - mahiro.R) < 0.005 && Math.Abs(plain.G - mahiro.G) < 0.005 && Math.Abs(plain.B - mahiro.B) < 0.005, $"empty negative: {mahiro}, plain {plain}");

        var plainGreen = await ClassMappingTests.RunMeanAsync(host, GuidancePatchTests.RedOverGreen(0.5, 1));
        var patchedGreen = GuidancePatchTests.RedOverGreen(0.5, 1);
        Patch(patchedGreen, "Mahiro");
        var mahiroGreen = await ClassMappingTests.RunMeanAsync(host, patchedGreen);
        Assert.True(Math.Abs(plainGreen.R - mahiroGreen.R) + Math.Abs(plainGreen.G - mahiroGreen.G) > 0.02, $"green negative: {mahiroGreen}, plain {plainGreen}");
    }

    [Theory]
    // TCFG is skipped at scale 1, where ComfyUI has no unconditional half.
    [InlineData("TCFG", 1.0, false)]
    [InlineData("TCFG", 3.0, true)]
    // Epsilon Scaling acts at scale 1 too: the leftover noise of each step is rescaled.
    [InlineData("Epsilon Scaling", 1.0, true)]
    public async Task A_patch_moves_the_image_where_comfyui_runs_it(string patch, double cfg, bool moves)
    {
        await using var host = await ComfyHost.StartAsync();
        var plain = await ClassMappingTests.RunMeanAsync(host, GuidancePatchTests.RedOverGreen(cfg, 1));
        var patched = GuidancePatchTests.RedOverGreen(cfg, 1);
        Patch(patched, patch);
        var colour = await ClassMappingTests.RunMeanAsync(host, patched);
        var moved = Math.Abs(plain.R - colour.R) + Math.Abs(plain.G - colour.G) + Math.Abs(plain.B - colour.B);
        Assert.True(moves ? moved > 0.02 : moved < 0.005, $"{patch} at cfg {cfg}: {colour}, plain {plain}");
    }

    [Fact]
    public async Task Epsilon_Scaling_divides_the_noise_of_the_unscaled_latents()
    {
        // One euler step from sigma 1 to 0 on a white image's latent with no noise added: x = white's latent, the x0
        // estimate red, so the result is x − (x − red)/1.25 = 0.2·white + 0.8·red: u = (1, −0.6, −0.6), the image
        // (1, 0.2, 0.2). Plain it is red; with x taken as the scaled model input x/√2 it would be (0.97, 0.17, 0.17).
        await using var host = await ComfyHost.StartAsync();
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "white.png", Images.SolidPng(64, 64, SkiaSharp.SKColors.White));
        var prompt = Txt2Img(text: "a red ball");
        prompt["1"] = Node("LoadImage", new JsonObject { ["image"] = name });
        prompt["2"] = Node("VAEEncode", new JsonObject { ["pixels"] = Link("1", 0), ["vae"] = Link("4", 2) });
        prompt["20"] = Node("Epsilon Scaling", new JsonObject { ["model"] = Link("4", 0), ["scaling_factor"] = 1.25 });
        prompt["11"] = Node("CFGGuider", new JsonObject { ["model"] = Link("20", 0), ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["cfg"] = 1 });
        prompt["12"] = Node("DisableNoise", []);
        prompt["13"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler" });
        prompt["14"] = Node("ManualSigmas", new JsonObject { ["sigmas"] = "1, 0" });
        prompt["3"] = Node("SamplerCustomAdvanced", new JsonObject
        {
            ["noise"] = Link("12", 0), ["guider"] = Link("11", 0), ["sampler"] = Link("13", 0), ["sigmas"] = Link("14", 0), ["latent_image"] = Link("2", 0),
        });

        var colour = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(colour.R - 1) < 0.02 && Math.Abs(colour.G - 0.2) < 0.02 && Math.Abs(colour.B - 0.2) < 0.02, $"({colour.R:F3}, {colour.G:F3}, {colour.B:F3})");
    }

    // The patch as node 20 on the checkpoint, and the sampler's model from it.
    private static void Patch(JsonObject prompt, string patch)
    {
        prompt["20"] = Patch(patch, "4");
        if (patch == "Epsilon Scaling") prompt["20"]!["inputs"]!["scaling_factor"] = 0.7;
        prompt["3"]!["inputs"]!["model"] = Link("20", 0);
    }

    private static JsonObject Patch(string type, string model) => type switch
    {
        "APG" => Node(type, new JsonObject { ["model"] = Link(model, 0), ["eta"] = 1, ["norm_threshold"] = 5, ["momentum"] = 0 }),
        "CFGNorm" => Node(type, new JsonObject { ["model"] = Link(model, 0), ["strength"] = 1 }),
        "Epsilon Scaling" => Node(type, new JsonObject { ["model"] = Link(model, 0), ["scaling_factor"] = 1.005 }),
        "LatentApplyOperationCFG" => Node(type, new JsonObject { ["model"] = Link(model, 0), ["operation"] = Link("30", 0) }),
        _ => Node(type, new JsonObject { ["model"] = Link(model, 0) }),
    };

    private static PromptConversion Convert(JsonObject prompt) =>
        ApiPromptConverter.Convert(prompt, new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.GetTempPath()), requireFiles: false);
}
