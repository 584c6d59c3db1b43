using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's further SIGMAS nodes (SDTurboScheduler, BetaSamplingScheduler, PolyexponentialScheduler, VPScheduler,
/// LaplaceScheduler, GITSScheduler, SplitSigmasDenoise, SetFirstSigma) and the KSampler names extensions add, run on
/// tiny-sd; the numbers in the literals are the numpy reference's (tools/comfy/sigma_reference.py) or ComfyUI's table.
/// </summary>
public sealed partial class CustomSamplingTests
{
    [Fact]
    public async Task Sd_turbo_workflow_samples_from_the_models_sigma_at_timestep_999_and_denoise_starts_further_down()
    {
        // ComfyUI's SD-Turbo example: SamplerCustom, cfg 1, euler_ancestral, SDTurboScheduler at 1 step. Its sigmas are
        // [σ(999), 0], which KSampler's simple schedule at 1 step also gives (to the last bit of σ), and at denoise 0.5
        // [σ(499), 0] = [1.6128861, 0], written out here through KarrasScheduler's one step.
        await using var host = await ComfyHost.StartAsync();
        var turbo = Turbo(steps: 1, denoise: 1);
        var oneStep = await ImageAsync(host, turbo);
        var simple = await ImageAsync(host, Prompts.Txt2Img(model: "tiny-sd", text: "a red circle", steps: 1, sampler: "euler_ancestral", scheduler: "simple", seed: 7));
        Assert.True(MaxLevelDifference(oneStep, simple) <= 1, $"SDTurboScheduler 1 step against [σ(999), 0]: {MaxLevelDifference(oneStep, simple)} levels");

        var half = Turbo(steps: 1, denoise: 0.5);
        var fromMiddle = await ImageAsync(host, half);
        half["12"] = Node("KarrasScheduler", new JsonObject { ["steps"] = 1, ["sigma_max"] = 1.6128861, ["sigma_min"] = 0.0291675, ["rho"] = 7 });
        Assert.True(MaxLevelDifference(fromMiddle, await ImageAsync(host, half)) <= 1, "SDTurboScheduler at denoise 0.5 against [σ(499), 0]");
        AssertDiffers(oneStep, fromMiddle, "denoise 0.5 (timestep 499 instead of 999)");

        // Two steps walk 999 then 899; the schedule is computed at run time from the model, after what patches it upstream.
        var twoSteps = await ImageAsync(host, Turbo(steps: 2, denoise: 1));
        AssertDiffers(oneStep, twoSteps, "2 steps");
        var node = Convert(Turbo(steps: 4, denoise: 0.5)).Node("n3")!;
        Assert.Equal("sd_turbo", Literal(node, "scheduler"));
        Assert.Equal(0.5, Literal(node, "denoise"));
    }

    [Fact]
    public async Task Beta_sampling_scheduler_at_0_6_is_KSamplers_beta_and_other_shapes_move_the_steps()
    {
        await using var host = await ComfyHost.StartAsync();
        var basic = await ImageAsync(host, Advanced(seed: 3, sampler: "euler", scheduler: "beta", cfg: 2, steps: 5));
        var prompt = Advanced(seed: 3, sampler: "euler", scheduler: "beta", cfg: 2, steps: 5);
        prompt["12"] = Node("BetaSamplingScheduler", new JsonObject { ["model"] = Link("4", 0), ["steps"] = 5, ["alpha"] = 0.6, ["beta"] = 0.6 });
        Assert.Equal(basic, await ImageAsync(host, prompt));
        prompt["12"]!["inputs"]!["alpha"] = 2.0;
        prompt["12"]!["inputs"]!["beta"] = 5.0;
        AssertDiffers(basic, await ImageAsync(host, prompt), "alpha 2, beta 5");
        var node = Convert(prompt).Node("n3")!;
        Assert.Equal(2.0, Literal(node, "beta_alpha"));
        Assert.Equal(5.0, Literal(node, "beta_beta"));
    }

    [Fact]
    public async Task Polyexponential_vp_and_laplace_reach_the_sampler_as_k_diffusion_computes_them()
    {
        await using var host = await ComfyHost.StartAsync();
        // ρ = 1 is the exponential schedule (up to float rounding of the logs); ρ = 2 is not.
        var exponential = Advanced(seed: 4, sampler: "euler", scheduler: "normal", cfg: 2);
        exponential["12"] = Node("ExponentialScheduler", new JsonObject { ["steps"] = 4, ["sigma_max"] = 14.614642, ["sigma_min"] = 0.0291675 });
        var expected = await ImageAsync(host, exponential);
        var poly = Advanced(seed: 4, sampler: "euler", scheduler: "normal", cfg: 2);
        poly["12"] = Node("PolyexponentialScheduler", new JsonObject { ["steps"] = 4, ["sigma_max"] = 14.614642, ["sigma_min"] = 0.0291675, ["rho"] = 1 });
        Assert.True(MaxLevelDifference(expected, await ImageAsync(host, poly)) <= 1, "polyexponential ρ 1 against exponential");
        poly["12"]!["inputs"]!["rho"] = 2;
        AssertDiffers(expected, await ImageAsync(host, poly), "polyexponential ρ 2");
        AssertSigmas(poly, [14.614639f, 0.46222103f, 0.058195155f, 0.0291675f, 0]);

        var vp = Advanced(seed: 4, sampler: "euler", scheduler: "normal", cfg: 2);
        vp["12"] = Node("VPScheduler", new JsonObject { ["steps"] = 4, ["beta_d"] = 19.9, ["beta_min"] = 0.1, ["eps_s"] = 0.001 });
        AssertSigmas(vp, [152.16698f, 9.403197f, 1.4619718f, 0.010485994f, 0]);
        AssertDiffers(expected, await ImageAsync(host, vp), "VP");

        // Laplace appends no 0: the sampler stops at sigma_min with that noise left in the latents.
        var laplace = Advanced(seed: 4, sampler: "euler", scheduler: "normal", cfg: 2);
        laplace["12"] = Node("LaplaceScheduler", new JsonObject { ["steps"] = 5, ["sigma_max"] = 14.614642, ["sigma_min"] = 0.0291675, ["mu"] = 0, ["beta"] = 0.5 });
        AssertSigmas(laplace, [14.614642f, 1.4141994f, 1f, 0.70711374f, 0.0291675f]);
        Assert.Equal(true, Literal(Convert(laplace).Node("n3")!, "add_noise"));
        AssertDiffers(expected, await ImageAsync(host, laplace), "Laplace");
    }

    [Fact]
    public async Task Gits_scheduler_feeds_ComfyUIs_table_row_and_the_coefficient_picks_the_row()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Advanced(seed: 6, sampler: "euler", scheduler: "normal", cfg: 2, steps: 10);
        prompt["12"] = Node("GITSScheduler", new JsonObject { ["coeff"] = 1.2, ["steps"] = 10, ["denoise"] = 1 });
        // nodes_gits.py's 1.20 row for 10 steps, its last sigma set to 0.
        AssertSigmas(prompt, [14.61464119f, 5.85520077f, 2.84484982f, 1.67050016f, 1.08895338f, 0.74807048f, 0.50118381f, 0.32104823f, 0.19894916f, 0.09824532f, 0]);
        var gits = await ImageAsync(host, prompt);
        prompt["12"]!["inputs"]!["coeff"] = 0.8;
        AssertSigmas(prompt, [14.61464119f, 13.76078796f, 12.96784878f, 12.2308979f, 10.90732002f, 8.75849152f, 7.49001646f, 5.85520077f, 3.07277966f, 1.56271636f, 0]);
        AssertDiffers(gits, await ImageAsync(host, prompt), "coeff 0.8");
        prompt["12"]!["inputs"]!["coeff"] = 1.2;
        prompt["12"]!["inputs"]!["denoise"] = 0.5;
        AssertSigmas(prompt, [0.74807048f, 0.50118381f, 0.32104823f, 0.19894916f, 0.09824532f, 0]);
    }

    [Fact]
    public async Task KSampler_takes_the_AYS_and_GITS_names_extensions_add()
    {
        await using var host = await ComfyHost.StartAsync();
        var named = await ImageAsync(host, Prompts.Txt2Img(model: "tiny-sd", text: "a red circle", steps: 10, scheduler: "AYS SD1", cfg: 2, seed: 3));
        var node = Advanced(seed: 3, sampler: "euler", scheduler: "normal", cfg: 2, steps: 10);
        node["12"] = Node("AlignYourStepsScheduler", new JsonObject { ["model_type"] = "SD1", ["steps"] = 10, ["denoise"] = 1 });
        Assert.Equal(await ImageAsync(host, node), named);

        var gitsNamed = await ImageAsync(host, Prompts.Txt2Img(model: "tiny-sd", text: "a red circle", steps: 10, scheduler: "GITS[coeff=1.2]", cfg: 2, seed: 3));
        node["12"] = Node("GITSScheduler", new JsonObject { ["coeff"] = 1.2, ["steps"] = 10, ["denoise"] = 1 });
        Assert.Equal(await ImageAsync(host, node), gitsNamed);
        AssertDiffers(named, gitsNamed, "GITS against AYS");
    }

    [Fact]
    public async Task Split_sigmas_denoise_halves_run_by_two_sampler_customs_finish_like_one_and_set_first_sigma_moves_the_start()
    {
        // 4 steps at denoise 0.5: the last 2 steps are low, as SplitSigmas at step 2; Euler makes the two halves one run.
        await using var host = await ComfyHost.StartAsync();
        var whole = await ImageAsync(host, Prompts.Txt2Img(model: "tiny-sd", text: "a red circle", steps: 4, cfg: 3, seed: 9));
        var prompt = Custom(seed: 9, cfg: 3);
        prompt["13"] = Node("SplitSigmasDenoise", new JsonObject { ["sigmas"] = Link("12", 0), ["denoise"] = 0.5 });
        prompt["3"]!["inputs"]!["sigmas"] = Link("13", 0);
        prompt["14"] = Node("SamplerCustom", new JsonObject
        {
            ["model"] = Link("4", 0), ["add_noise"] = false, ["noise_seed"] = 9, ["cfg"] = 3, ["positive"] = Link("6", 0), ["negative"] = Link("7", 0),
            ["sampler"] = Link("11", 0), ["sigmas"] = Link("13", 1), ["latent_image"] = Link("3", 0),
        });
        prompt["8"]!["inputs"]!["samples"] = Link("14", 0);
        Assert.Equal(whole, await ImageAsync(host, prompt));
        var workflow = Convert(prompt);
        Assert.Equal("split_denoise 0.5 high", Literal(workflow.Node("n3")!, "sigma_edits"));
        Assert.Equal("split_denoise 0.5 low", Literal(workflow.Node("n14")!, "sigma_edits"));
        // denoise 0.75 keeps 3 steps low: the high half is one step, so the split sits elsewhere and the first half alone differs.
        prompt["13"]!["inputs"]!["denoise"] = 0.75;
        prompt["8"]!["inputs"]!["samples"] = Link("3", 0);
        AssertDiffers(whole, await ImageAsync(host, prompt), "the one high step alone");

        // SetFirstSigma on a schedule by name: diffusion.ksampler sets it once it has computed the schedule.
        var first = Custom(seed: 9, cfg: 3);
        first["13"] = Node("SetFirstSigma", new JsonObject { ["sigmas"] = Link("12", 0), ["sigma"] = 20 });
        first["3"]!["inputs"]!["sigmas"] = Link("13", 0);
        Assert.Equal("first 20", Literal(Convert(first).Node("n3")!, "sigma_edits"));
        AssertDiffers(whole, await ImageAsync(host, first), "first sigma 20");

        // On explicit sigmas both act here: KarrasScheduler's 4 steps split at 2, then the high half's first sigma set.
        var karras = Custom(seed: 9, cfg: 3);
        karras["12"] = Node("KarrasScheduler", new JsonObject { ["steps"] = 4, ["sigma_max"] = 14.614642, ["sigma_min"] = 0.0291675, ["rho"] = 7 });
        karras["13"] = Node("SplitSigmasDenoise", new JsonObject { ["sigmas"] = Link("12", 0), ["denoise"] = 0.5 });
        karras["15"] = Node("SetFirstSigma", new JsonObject { ["sigmas"] = Link("13", 0), ["sigma"] = 136 });
        karras["3"]!["inputs"]!["sigmas"] = Link("15", 0);
        var sigmas = FlowDiffusion.Diffusion.KDiffusion.SigmaSchedules.Karras(0.0291675, 14.614642, 4);
        AssertSigmas(karras, [136f, sigmas[1], sigmas[2]]);
    }

    [Theory]
    [InlineData("SDTurboScheduler", """{ "steps": 11, "denoise": 1 }""", "steps", "value_bigger_than_max")]
    [InlineData("SDTurboScheduler", """{ "steps": 1, "denoise": "lots" }""", "denoise", "invalid_input_type")]
    [InlineData("GITSScheduler", """{ "coeff": 1.23, "steps": 10, "denoise": 1 }""", "coeff", "value_not_supported")]
    [InlineData("GITSScheduler", """{ "coeff": 1.2, "steps": 1, "denoise": 1 }""", "steps", "value_smaller_than_min")]
    [InlineData("BetaSamplingScheduler", """{ "steps": 10, "alpha": 0, "beta": 0.6 }""", "alpha", "value_not_supported")]
    [InlineData("BetaSamplingScheduler", """{ "steps": 10, "alpha": 0.6, "beta": 51 }""", "beta", "value_bigger_than_max")]
    [InlineData("LaplaceScheduler", """{ "steps": 20, "sigma_max": 14.6, "sigma_min": 0.03, "mu": 0, "beta": 10 }""", "beta", "value_not_supported")]
    [InlineData("VPScheduler", """{ "steps": 10, "beta_d": 19.9, "beta_min": 0.1, "eps_s": 0 }""", "eps_s", "value_not_supported")]
    [InlineData("PolyexponentialScheduler", """{ "steps": 10, "sigma_max": 14.6, "sigma_min": 0, "rho": 1 }""", "sigma_min", "value_not_supported")]
    [InlineData("PolyexponentialScheduler", """{ "steps": 10001, "sigma_max": 14.6, "sigma_min": 0.03, "rho": 1 }""", "steps", "value_bigger_than_max")]
    public void Scheduler_nodes_refuse_bad_inputs_per_input_as_ComfyUI(string type, string inputs, string input, string errorType)
    {
        var prompt = Advanced(seed: 1, sampler: "euler", scheduler: "normal", cfg: 1);
        var values = Prompts.Parse(inputs);
        if (type is "SDTurboScheduler" or "BetaSamplingScheduler") values["model"] = Link("4", 0);
        prompt["12"] = Node(type, values);
        var error = ConversionError(prompt, "12");
        Assert.Equal(input, error.Input);
        Assert.Equal(errorType, error.Type);
    }

    [Fact]
    public void Sigma_utilities_refuse_what_would_not_be_a_falling_schedule()
    {
        var prompt = Custom(seed: 1, cfg: 1);
        prompt["12"] = Node("KarrasScheduler", new JsonObject { ["steps"] = 4, ["sigma_max"] = 14.614642, ["sigma_min"] = 0.0291675, ["rho"] = 7 });
        prompt["13"] = Node("SetFirstSigma", new JsonObject { ["sigmas"] = Link("12", 0), ["sigma"] = 1 });
        prompt["3"]!["inputs"]!["sigmas"] = Link("13", 0);
        var error = ConversionError(prompt, "13");
        Assert.Equal(("sigma", "value_not_supported"), (error.Input, error.Type));
        Assert.Contains("strictly falling or strictly rising", error.Details);

        prompt["13"] = Node("SetFirstSigma", new JsonObject { ["sigmas"] = Link("12", 0), ["sigma"] = 20001 });
        Assert.Equal("value_bigger_than_max", ConversionError(prompt, "13").Type);
        prompt["13"] = Node("SplitSigmasDenoise", new JsonObject { ["sigmas"] = Link("12", 0), ["denoise"] = 1.5 });
        Assert.Equal(("denoise", "value_bigger_than_max"), (ConversionError(prompt, "13").Input, ConversionError(prompt, "13").Type));
    }

    // ComfyUI's SD-Turbo example graph on tiny-sd: SamplerCustom, cfg 1, euler_ancestral, SDTurboScheduler.
    private static JsonObject Turbo(int steps, double denoise)
    {
        var prompt = Custom(seed: 7, cfg: 1);
        prompt["11"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler_ancestral" });
        prompt["12"] = Node("SDTurboScheduler", new JsonObject { ["model"] = Link("4", 0), ["steps"] = steps, ["denoise"] = denoise });
        return prompt;
    }

    private static Workflow Convert(JsonObject prompt)
    {
        var conversion = ApiPromptConverter.Convert(Prompts.Parse(prompt.ToJsonString()), Folders, requireFiles: false);
        return conversion.Workflow ?? throw new Xunit.Sdk.XunitException(conversion.ErrorJson().ToJsonString());
    }

    private static (string Input, string Type, string Details) ConversionError(JsonObject prompt, string node)
    {
        var conversion = ApiPromptConverter.Convert(Prompts.Parse(prompt.ToJsonString()), Folders, requireFiles: false);
        Assert.True(conversion.NodeErrors.ContainsKey(node), conversion.IsValid ? "no errors" : conversion.ErrorJson().ToJsonString());
        var error = conversion.NodeErrors[node].Errors[0];
        return (error.InputName!, error.Type, error.Details);
    }

    private static object? Literal(WorkflowNode node, string name) => ((LiteralValue)node.Parameter(name)!.Value).Value;

    // The explicit sigmas the converted diffusion.ksampler gets, each to 1e-6 relative.
    private static void AssertSigmas(JsonObject prompt, float[] want)
    {
        var text = (string)Literal(Convert(prompt).Node("n3")!, "sigmas")!;
        var got = text.Split(',').Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(want.Length, got.Length);
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 1e-6 * Math.Max(1, Math.Abs(want[i])), $"sigma[{i}] {got[i]:R} vs {want[i]:R} in {text}");
    }

    private static ComfyFolders Folders => new(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));
}
