using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's custom sampling classes (SamplerCustom, SamplerCustomAdvanced and their noise, guider, sampler and sigma
/// pieces) on tiny-sd, whose images depend on every setting: each graph is checked against the KSampler graph ComfyUI
/// computes the same way, pixel for pixel, and against a changed setting that must show.
/// </summary>
public sealed partial class CustomSamplingTests
{
    [Fact]
    public async Task Sampler_custom_advanced_with_a_basic_schedule_equals_ksampler()
    {
        await using var host = await ComfyHost.StartAsync();
        var ksampler = await ImageAsync(host, Prompts.Txt2Img(model: "tiny-sd", text: "a red circle", steps: 4, sampler: "euler_ancestral", scheduler: "karras", cfg: 4, seed: 5));
        var custom = await ImageAsync(host, Advanced(seed: 5, sampler: "euler_ancestral", scheduler: "karras", cfg: 4));
        var otherSeed = await ImageAsync(host, Advanced(seed: 6, sampler: "euler_ancestral", scheduler: "karras", cfg: 4));
        var otherCfg = await ImageAsync(host, Advanced(seed: 5, sampler: "euler_ancestral", scheduler: "karras", cfg: 2));

        Assert.Equal(ksampler, custom);
        AssertDiffers(custom, otherSeed, "another noise seed");
        AssertDiffers(custom, otherCfg, "another cfg");
    }

    [Fact]
    public async Task Split_sigmas_run_by_two_sampler_customs_finish_like_one_ksampler()
    {
        // Euler keeps no history, so stopping after step 2 with the noise left in and going on from there is one run.
        await using var host = await ComfyHost.StartAsync();
        var whole = await ImageAsync(host, Prompts.Txt2Img(model: "tiny-sd", text: "a red circle", steps: 4, cfg: 3, seed: 9));
        var prompt = Custom(seed: 9, cfg: 3);
        prompt["13"] = Node("SplitSigmas", new JsonObject { ["sigmas"] = Link("12", 0), ["step"] = 2 });
        prompt["3"]!["inputs"]!["sigmas"] = Link("13", 0);
        prompt["14"] = Node("SamplerCustom", new JsonObject
        {
            ["model"] = Link("4", 0), ["add_noise"] = false, ["noise_seed"] = 9, ["cfg"] = 3, ["positive"] = Link("6", 0), ["negative"] = Link("7", 0),
            ["sampler"] = Link("11", 0), ["sigmas"] = Link("13", 1), ["latent_image"] = Link("3", 0),
        });
        prompt["8"]!["inputs"]!["samples"] = Link("14", 0);
        var split = await ImageAsync(host, prompt);
        prompt["8"]!["inputs"]!["samples"] = Link("3", 0);
        var highOnly = await ImageAsync(host, prompt);

        Assert.Equal(whole, split);
        AssertDiffers(split, highOnly, "the first half alone");
    }

    [Fact]
    public async Task Basic_guider_is_the_positive_alone_and_karras_scheduler_gives_the_models_karras_schedule()
    {
        await using var host = await ComfyHost.StartAsync();
        var cfgOne = await ImageAsync(host, Advanced(seed: 2, sampler: "dpmpp_2m", scheduler: "karras", cfg: 1));
        var basic = Advanced(seed: 2, sampler: "dpmpp_2m", scheduler: "karras", cfg: 1);
        basic["15"] = Node("BasicGuider", new JsonObject { ["model"] = Link("4", 0), ["conditioning"] = Link("6", 0) });
        basic["3"]!["inputs"]!["guider"] = Link("15", 0);
        Assert.Equal(cfgOne, await ImageAsync(host, basic));

        // SD 1.x's sigma range, as KarrasScheduler's defaults write it: the same schedule as BasicScheduler's karras up to
        // float rounding of the ends, so the images agree within a level or two.
        var karras = Advanced(seed: 2, sampler: "dpmpp_2m", scheduler: "karras", cfg: 1);
        karras["12"] = Node("KarrasScheduler", new JsonObject { ["steps"] = 4, ["sigma_max"] = 14.614642, ["sigma_min"] = 0.0291675, ["rho"] = 7 });
        var explicitKarras = await ImageAsync(host, karras);
        Assert.True(MaxLevelDifference(cfgOne, explicitKarras) <= 2, $"KarrasScheduler against BasicScheduler karras: {MaxLevelDifference(cfgOne, explicitKarras)} levels");
        karras["12"]!["inputs"]!["rho"] = 3;
        AssertDiffers(explicitKarras, await ImageAsync(host, karras), "rho 3");
    }

    [Theory]
    [InlineData("SamplerEulerAncestral", "{}", "euler_ancestral", """{ "eta": 0.5 }""")]
    [InlineData("SamplerDPMPP_2S_Ancestral", """{ "eta": 1, "s_noise": 1 }""", "dpmpp_2s_ancestral", """{ "s_noise": 0.5 }""")]
    [InlineData("SamplerDPMPP_SDE", """{ "noise_device": "cpu" }""", "dpmpp_sde", """{ "r": 0.3, "noise_device": "cpu" }""")]
    [InlineData("SamplerDPMPP_SDE", "{}", "dpmpp_sde_gpu", """{ "eta": 0.5 }""")]
    [InlineData("SamplerDPMPP_2M_SDE", """{ "solver_type": "midpoint", "noise_device": "gpu" }""", "dpmpp_2m_sde_gpu", """{ "solver_type": "heun" }""")]
    [InlineData("SamplerDPMPP_2M_SDE", """{ "solver_type": "heun", "noise_device": "cpu" }""", "dpmpp_2m_sde_heun", """{ "solver_type": "heun", "eta": 0.5 }""")]
    [InlineData("SamplerDPMPP_3M_SDE", """{ "eta": 1, "s_noise": 1, "noise_device": "cpu" }""", "dpmpp_3m_sde", """{ "eta": 0.5, "noise_device": "cpu" }""")]
    [InlineData("SamplerLMS", """{ "order": 4 }""", "lms", """{ "order": 1 }""")]
    [InlineData("SamplerDPMAdaptative", """{ "order": 3, "rtol": 0.05, "atol": 0.0078, "h_init": 0.05, "eta": 0, "s_noise": 1 }""", "dpm_adaptive", """{ "eta": 0.5 }""")]
    [InlineData("SamplerDPMAdaptative", "{}", "dpm_adaptive", """{ "order": 2, "rtol": 0.5, "atol": 0.5 }""")]
    [InlineData("SamplerEulerAncestralCFGPP", """{ "eta": 1, "s_noise": 1 }""", "euler_ancestral_cfg_pp", """{ "eta": 0.5 }""")]
    [InlineData("SamplerSASolver", """{ "model": ["4", 0] }""", "sa_solver", """{ "model": ["4", 0], "predictor_order": 1, "corrector_order": 0 }""")]
    [InlineData("SamplerSASolver", """{ "model": ["4", 0], "eta": 1, "sde_start_percent": 0.2, "sde_end_percent": 0.8, "s_noise": 1, "predictor_order": 3, "corrector_order": 4 }""", "sa_solver", """{ "model": ["4", 0], "simple_order_2": true, "predictor_order": 2, "corrector_order": 2 }""")]
    [InlineData("SamplerSASolver", """{ "model": ["4", 0], "use_pece": true }""", "sa_solver_pece", """{ "model": ["4", 0], "use_pece": true, "s_noise": 0.5 }""")]
    public async Task Sampler_nodes_at_their_defaults_equal_ksampler_select_and_other_settings_show(string classType, string defaults, string samplerName, string changed)
    {
        await using var host = await ComfyHost.StartAsync();
        var select = await ImageAsync(host, Advanced(seed: 5, sampler: samplerName, scheduler: "karras", cfg: 3, steps: 6));
        var prompt = Advanced(seed: 5, sampler: samplerName, scheduler: "karras", cfg: 3, steps: 6);
        prompt["11"] = Node(classType, (JsonObject)JsonNode.Parse(defaults)!);
        var atDefaults = await ImageAsync(host, prompt);
        prompt["11"] = Node(classType, (JsonObject)JsonNode.Parse(changed)!);
        var other = await ImageAsync(host, prompt);

        Assert.Equal(select, atDefaults);
        AssertDiffers(atDefaults, other, $"{classType} {changed}");
    }

    [Fact]
    public async Task Sampler_nodes_are_described_as_in_ComfyUI_and_values_out_of_range_are_node_errors_naming_the_input()
    {
        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        var sde = info["SamplerDPMPP_2M_SDE"]!["input"]!["required"]!;
        Assert.Equal(["solver_type", "eta", "s_noise", "noise_device"], info["SamplerDPMPP_2M_SDE"]!["input_order"]!["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["midpoint", "heun"], sde["solver_type"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["gpu", "cpu"], sde["noise_device"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        foreach (var (type, input, value, min, max) in new[]
        {
            ("SamplerEulerAncestral", "eta", 1.0, 0.0, 100.0), ("SamplerDPMPP_2S_Ancestral", "s_noise", 1, 0, 100), ("SamplerDPMPP_SDE", "r", 0.5, 0, 100),
            ("SamplerDPMPP_3M_SDE", "eta", 1, 0, 100), ("SamplerLMS", "order", 4, 1, 100), ("SamplerDPMAdaptative", "order", 3, 2, 3),
            ("SamplerDPMAdaptative", "atol", 0.0078, 0, 100), ("SamplerDPMAdaptative", "accept_safety", 0.81, 0, 100), ("SamplerDPMAdaptative", "eta", 0, 0, 100),
            ("SamplerDPMPP_3M_SDE", "eta", 1, 0, 100), ("SamplerLMS", "order", 4, 1, 100), ("SamplerEulerAncestralCFGPP", "eta", 1, 0, 1),
            ("SamplerEulerAncestralCFGPP", "s_noise", 1, 0, 10), ("SamplerSASolver", "eta", 1, 0, 10), ("SamplerSASolver", "sde_start_percent", 0.2, 0, 1),
            ("SamplerSASolver", "sde_end_percent", 0.8, 0, 1), ("SamplerSASolver", "s_noise", 1, 0, 100), ("SamplerSASolver", "predictor_order", 3, 1, 6),
            ("SamplerSASolver", "corrector_order", 4, 0, 6),
        })
        {
            var spec = info[type]!["input"]!["required"]![input]!;
            Assert.Equal(input.EndsWith("order", StringComparison.Ordinal) ? "INT" : "FLOAT", spec[0]!.GetValue<string>());
            Assert.Equal((value, min, max), (spec[1]!["default"]!.GetValue<double>(), spec[1]!["min"]!.GetValue<double>(), spec[1]!["max"]!.GetValue<double>()));
            Assert.Equal(["SAMPLER"], info[type]!["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        }

        foreach (var (type, input, value, error) in new[]
        {
            ("SamplerEulerAncestral", "eta", 100.5, "value_bigger_than_max"), ("SamplerDPMPP_2S_Ancestral", "s_noise", -0.5, "value_smaller_than_min"),
            ("SamplerDPMPP_SDE", "r", 101, "value_bigger_than_max"), ("SamplerDPMPP_2M_SDE", "eta", -1, "value_smaller_than_min"),
            ("SamplerDPMPP_3M_SDE", "s_noise", 100.01, "value_bigger_than_max"), ("SamplerLMS", "order", 0, "value_smaller_than_min"),
            ("SamplerLMS", "order", 101, "value_bigger_than_max"), ("SamplerDPMAdaptative", "order", 1, "value_smaller_than_min"),
            ("SamplerDPMAdaptative", "rtol", 100.5, "value_bigger_than_max"), ("SamplerDPMAdaptative", "h_init", 0, "value_not_supported"),
            ("SamplerDPMAdaptative", "accept_safety", 3, "value_not_supported"),
            ("SamplerLMS", "order", 101, "value_bigger_than_max"), ("SamplerEulerAncestralCFGPP", "eta", 1.01, "value_bigger_than_max"),
            ("SamplerEulerAncestralCFGPP", "s_noise", 10.5, "value_bigger_than_max"), ("SamplerSASolver", "eta", 10.5, "value_bigger_than_max"),
            ("SamplerSASolver", "predictor_order", 7, "value_bigger_than_max"), ("SamplerSASolver", "predictor_order", 0, "value_smaller_than_min"),
            ("SamplerSASolver", "corrector_order", 7, "value_bigger_than_max"), ("SamplerSASolver", "sde_end_percent", 1.5, "value_bigger_than_max"),
        })
        {
            var prompt = Advanced(seed: 1, sampler: "euler", scheduler: "normal", cfg: 1);
            prompt["11"] = Node(type, new JsonObject { [input] = value });
            if (type == "SamplerSASolver") prompt["11"]!["inputs"]!["model"] = Link("4", 0);
            var (status, body) = await host.PostPromptAsync(prompt);
            Assert.Equal(400, status);
            var node = body["node_errors"]!["11"]!;
            Assert.Equal(type, node["class_type"]!.GetValue<string>());
            Assert.Equal(error, node["errors"]![0]!["type"]!.GetValue<string>());
            Assert.Equal(input, node["errors"]![0]!["extra_info"]!["input_name"]!.GetValue<string>());
        }

        Assert.Equal("SamplerEulerAncestralCFG++", info["SamplerEulerAncestralCFGPP"]!["display_name"]!.GetValue<string>());
        Assert.Contains("res_multistep_ancestral_cfg_pp", info["KSamplerSelect"]!["input"]!["required"]!["sampler_name"]![0]!.AsArray().Select(n => n!.GetValue<string>()));

        var bad = Advanced(seed: 1, sampler: "euler", scheduler: "normal", cfg: 1);
        bad["11"] = Node("SamplerDPMPP_2M_SDE", new JsonObject { ["solver_type"] = "euler" });
        var (badStatus, badBody) = await host.PostPromptAsync(bad);
        Assert.Equal(400, badStatus);
        Assert.Equal("value_not_in_list", badBody["node_errors"]!["11"]!["errors"]![0]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Basic_scheduler_keeps_the_sigma_ksampler_drops_for_dpm_2()
    {
        await using var host = await ComfyHost.StartAsync();
        var ksampler = await ImageAsync(host, Prompts.Txt2Img(model: "tiny-sd", text: "a red circle", steps: 3, sampler: "dpm_2", cfg: 2, seed: 4));
        var custom = await ImageAsync(host, Advanced(seed: 4, sampler: "dpm_2", scheduler: "normal", cfg: 2, steps: 3));
        var euler = await ImageAsync(host, Prompts.Txt2Img(model: "tiny-sd", text: "a red circle", steps: 3, sampler: "euler", cfg: 2, seed: 4));
        var customEuler = await ImageAsync(host, Advanced(seed: 4, sampler: "euler", scheduler: "normal", cfg: 2, steps: 3));

        // KSampler's dpm_2 at 3 steps runs the 4-step schedule less its sigma before the last; BasicScheduler's does not.
        AssertDiffers(ksampler, custom, "BasicScheduler's schedule (no sigma dropped)");
        // For Euler both are the plain schedule.
        Assert.Equal(euler, customEuler);
    }

    [Fact]
    public async Task Align_your_steps_feeds_its_published_schedule()
    {
        // At 10 steps the SD1 schedule is NVIDIA's table itself; the explicit list reaches the sampler as KarrasScheduler's does.
        await using var host = await ComfyHost.StartAsync();
        var prompt = Advanced(seed: 3, sampler: "euler", scheduler: "normal", cfg: 2, steps: 10);
        prompt["12"] = Node("AlignYourStepsScheduler", new JsonObject { ["model_type"] = "SD1", ["steps"] = 10, ["denoise"] = 1 });
        var ays = await ImageAsync(host, prompt);
        prompt["12"] = Node("AlignYourStepsScheduler", new JsonObject { ["model_type"] = "SDXL", ["steps"] = 10, ["denoise"] = 1 });
        var sdxlTable = await ImageAsync(host, prompt);
        var normal = await ImageAsync(host, Advanced(seed: 3, sampler: "euler", scheduler: "normal", cfg: 2, steps: 10));

        AssertDiffers(ays, normal, "AYS against the normal schedule");
        // The two tables differ in the middle steps only; on tiny-sd that moves a few percent of the values.
        Assert.NotEqual(ays, sdxlTable);
        // The sampler gets the table's values (checked against numpy in SigmaScheduleTests), 0 last.
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));
        var conversion = ApiPromptConverter.Convert(Prompts.Parse(prompt.ToJsonString()), folders, requireFiles: false);
        var sigmas = (string)((LiteralValue)conversion.Workflow!.Node("n3")!.Parameter("sigmas")!.Value).Value!;
        var table = AlignYourSteps.Sigmas("SDXL", 10, 1);
        Assert.Equal(string.Join(", ", table.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))), sigmas);
        Assert.Equal(6.3184485287f, table[1]);
        Assert.Equal(0f, table[^1]);
    }

    [Fact]
    public async Task Bad_pieces_are_node_errors_naming_the_input()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Advanced(seed: 1, sampler: "euler", scheduler: "normal", cfg: 1);
        prompt["12"] = Node("KarrasScheduler", new JsonObject { ["steps"] = 4, ["sigma_max"] = 0.5, ["sigma_min"] = 2, ["rho"] = 7 });
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        var error = body["node_errors"]!["12"]!["errors"]![0]!;
        Assert.Equal("sigma_min", error["extra_info"]!["input_name"]!.GetValue<string>());
        Assert.Contains("not a falling", error["details"]!.GetValue<string>());

        // The high half of a split stops above 0: its denoised_output is not kept apart from the output.
        prompt = Custom(seed: 1, cfg: 1);
        prompt["13"] = Node("SplitSigmas", new JsonObject { ["sigmas"] = Link("12", 0), ["step"] = 2 });
        prompt["3"]!["inputs"]!["sigmas"] = Link("13", 0);
        prompt["8"]!["inputs"]!["samples"] = Link("3", 1);
        (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Contains("denoised_output", body["node_errors"]!["8"]!["errors"]![0]!["details"]!.GetValue<string>());

        // lms, whose step into sigma 0 returns the x0 estimate as ComfyUI's does: its denoised_output is the output.
        prompt = Custom(seed: 1, cfg: 1);
        prompt["11"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "lms" });
        var output = await ImageAsync(host, prompt);
        prompt["8"]!["inputs"]!["samples"] = Link("3", 1);
        Assert.Equal(output, await ImageAsync(host, prompt));
        prompt["11"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "uni_pc" });
        (status, _) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        // dpm_adaptive stops at the last sigma above 0, so its last x0 estimate is not its output either.
        prompt["11"] = Node("SamplerDPMAdaptative", new JsonObject());
        (status, body) = await host.PostPromptAsync(prompt);
        Assert.Equal(400, status);
        Assert.Contains("dpm_adaptive's last step", body["node_errors"]!["8"]!["errors"]![0]!["details"]!.GetValue<string>());
    }

    [Fact]
    public async Task Dpm_fast_and_dpm_adaptive_read_only_the_schedules_first_and_last_sigma_above_0_as_in_ComfyUI()
    {
        // ComfyUI's dpm solvers run from sigmas[0] to sigmas[-2] on their own grid in log sigma: karras and exponential share
        // both ends (the model's sigma_max and sigma_min), so they give one image where a sampler walking the schedule gives two.
        await using var host = await ComfyHost.StartAsync();
        async Task<byte[]> Run(string sampler, string scheduler, int steps) =>
            await ImageAsync(host, Prompts.Txt2Img(model: "tiny-sd", text: "a red circle", steps: steps, sampler: sampler, scheduler: scheduler, cfg: 4, seed: 5));

        var fastKarras = await Run("dpm_fast", "karras", 6);
        Assert.True(MaxLevelDifference(fastKarras, await Run("dpm_fast", "exponential", 6)) <= 1, "dpm_fast: karras against exponential");
        AssertDiffers(await Run("euler", "karras", 6), await Run("euler", "exponential", 6), "euler: karras against exponential");
        // dpm_fast spends the step count as model evaluations (6: orders 3, 2, 1; 3: 2, 1), so it changes the image.
        AssertDiffers(fastKarras, await Run("dpm_fast", "karras", 3), "dpm_fast: 6 against 3 steps");
        // dpm_adaptive picks its own steps: the step count does not matter either.
        var adaptive = await Run("dpm_adaptive", "karras", 4);
        Assert.True(MaxLevelDifference(adaptive, await Run("dpm_adaptive", "exponential", 9)) <= 1, "dpm_adaptive: karras 4 against exponential 9 steps");
        AssertDiffers(adaptive, fastKarras, "dpm_adaptive against dpm_fast");
    }

    [Fact]
    public async Task Sa_solver_draws_noise_only_for_the_schedule_sigmas_inside_its_window_on_the_models_percent_to_sigma()
    {
        // SamplerCustom, karras 4 steps on tiny-sd: the predictor steps land on σ 3.1686, 0.4469 and 0.0292 (then 0, the
        // x0 step). The model maps 0.2 → σ 5.092, 0.3 → 3.325, 0.4 → 2.280, 0.8 → 0.5712, 0.9 → 0.3437. τ = eta only for
        // landing sigmas inside the window, so windows holding the same of them give the same image, and one holding none
        // is the ODE (eta 0) exactly.
        await using var host = await ComfyHost.StartAsync();
        async Task<byte[]> Run(double eta, double start, double end)
        {
            var prompt = Custom(seed: 7, cfg: 3);
            prompt["11"] = Node("SamplerSASolver", new JsonObject { ["model"] = Link("4", 0), ["eta"] = eta, ["sde_start_percent"] = start, ["sde_end_percent"] = end });
            prompt["12"] = Node("BasicScheduler", new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = "karras", ["steps"] = 4, ["denoise"] = 1 });
            return await ImageAsync(host, prompt);
        }

        var ode = await Run(0, 0.2, 0.8);
        var defaults = await Run(1, 0.2, 0.8);
        AssertDiffers(ode, defaults, "eta 1 against eta 0");
        Assert.Equal(defaults, await Run(1, 0.3, 0.8));
        Assert.Equal(ode, await Run(1, 0.4, 0.8));
        var lower = await Run(1, 0.4, 0.9);
        AssertDiffers(ode, lower, "a window holding σ 0.4469 against eta 0");
        AssertDiffers(defaults, lower, "a window holding σ 0.4469 against one holding σ 3.1686");
        // eta 0 is the ODE whatever the window.
        Assert.Equal(ode, await Run(0, 0, 1));
    }

    [Fact]
    public async Task Seeds_run_up_to_2_to_the_64_minus_1_as_in_ComfyUI_and_beyond_are_range_errors()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(steps: 2);
        prompt["3"]!["inputs"]!["seed"] = JsonNode.Parse("18446744073709551615");
        var image = await ClassMappingTests.RunForImageAsync(host, prompt);
        Assert.NotEmpty(image);

        foreach (var (seed, type) in new[] { ("18446744073709551616", "value_bigger_than_max"), ("-1", "value_smaller_than_min") })
        {
            prompt["3"]!["inputs"]!["seed"] = JsonNode.Parse(seed);
            var (status, body) = await host.PostPromptAsync(prompt);
            Assert.Equal(400, status);
            var error = body["node_errors"]!["3"]!["errors"]![0]!;
            Assert.Equal(type, error["type"]!.GetValue<string>());
            Assert.Equal("seed", error["extra_info"]!["input_name"]!.GetValue<string>());
        }
    }

    // ComfyUI's txt2img graph with the KSampler replaced by SamplerCustomAdvanced and its pieces.
    private static JsonObject Advanced(long seed, string sampler, string scheduler, double cfg, int steps = 4)
    {
        var prompt = Prompts.Txt2Img(model: "tiny-sd", text: "a red circle");
        prompt["3"] = Node("SamplerCustomAdvanced", new JsonObject
        {
            ["noise"] = Link("10", 0), ["guider"] = Link("13", 0), ["sampler"] = Link("11", 0), ["sigmas"] = Link("12", 0), ["latent_image"] = Link("5", 0),
        });
        prompt["10"] = Node("RandomNoise", new JsonObject { ["noise_seed"] = seed });
        prompt["11"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = sampler });
        prompt["12"] = Node("BasicScheduler", new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = scheduler, ["steps"] = steps, ["denoise"] = 1 });
        prompt["13"] = Node("CFGGuider", new JsonObject { ["model"] = Link("4", 0), ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["cfg"] = cfg });
        return prompt;
    }

    // The txt2img graph with SamplerCustom (euler, BasicScheduler normal, 4 steps) in place of the KSampler.
    private static JsonObject Custom(long seed, double cfg)
    {
        var prompt = Prompts.Txt2Img(model: "tiny-sd", text: "a red circle");
        prompt["3"] = Node("SamplerCustom", new JsonObject
        {
            ["model"] = Link("4", 0), ["add_noise"] = true, ["noise_seed"] = seed, ["cfg"] = cfg, ["positive"] = Link("6", 0), ["negative"] = Link("7", 0),
            ["sampler"] = Link("11", 0), ["sigmas"] = Link("12", 0), ["latent_image"] = Link("5", 0),
        });
        prompt["11"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler" });
        prompt["12"] = Node("BasicScheduler", new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = "normal", ["steps"] = 4, ["denoise"] = 1 });
        return prompt;
    }

    private static async Task<byte[]> ImageAsync(ComfyHost host, JsonObject prompt)
    {
        using var bitmap = SKBitmap.Decode(await ClassMappingTests.RunForImageAsync(host, prompt));
        return bitmap.Bytes;
    }

    private static void AssertDiffers(byte[] a, byte[] b, string what)
    {
        var differing = a.Zip(b).Count(p => p.First != p.Second);
        Assert.True(differing > a.Length / 10, $"{what}: only {differing} of {a.Length} channel values differ");
    }

    private static int MaxLevelDifference(byte[] a, byte[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
}
