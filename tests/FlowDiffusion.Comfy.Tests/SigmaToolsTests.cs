using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's FlipSigmas (unsampling), ManualSigmas, ExtendIntermediateSigmas and AddNoise: their conversion, and an
/// unsample → resample round trip on analytic-sd, whose x0 estimate is the prompt's colour whatever the latents.
/// </summary>
public sealed class SigmaToolsTests
{
    private const int Blue = 0x3060C0;

    [Fact]
    public async Task Unsampling_with_flipped_sigmas_then_sampling_back_returns_the_input_image()
    {
        // An image of colour A is unsampled with euler up FlipSigmas(normal, 6 steps) from the schedule's smallest sigma
        // (SplitSigmas at 1 cuts FlipSigmas' 0.0001 step, where analytic-sd, whose timestep stops at σ(0) = 0.029, would see
        // the latents as nearly clean and the step back down would not undo it) under the prompt "red", then sampled back
        // down the same sigmas (SplitSigmas' high half, ending at 0.029): analytic-sd's x0 estimate is red at every step, and
        // each Euler step up (x − red)·σ_next/σ is undone by the one down, so the image is A again. Sampled on to 0 instead,
        // the latents become the model's x0: red.
        await using var host = await ComfyHost.StartAsync();
        var prompt = RoundTrip(back: Link("17", 0));
        var (r, g, b, _, _) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, prompt));
        Assert.True(Math.Abs(r * 255 - 0x30) <= 2 && Math.Abs(g * 255 - 0x60) <= 2 && Math.Abs(b * 255 - 0xC0) <= 2,
            $"round trip gave ({r * 255:F1}, {g * 255:F1}, {b * 255:F1}), not (48, 96, 192)");

        (r, g, b, _, _) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, RoundTrip(back: Link("12", 0))));
        Assert.True(r > 0.98 && g < 0.02 && b < 0.02, $"sampled to 0 the unsampled latents give the prompt's colour; got ({r:F3}, {g:F3}, {b:F3})");

        var workflow = Convert(prompt);
        Assert.Equal("flip; split 1 low", Literal(workflow.Node("n3")!, "sigma_edits"));
        Assert.Equal(false, Literal(workflow.Node("n3")!, "add_noise"));
        Assert.Equal(5L, Literal(workflow.Node("n15")!, "end_step"));
    }

    [Fact]
    public void Flip_sigmas_on_explicit_sigmas_reverses_them_here_and_lifts_the_zero()
    {
        var prompt = RoundTrip(back: Link("14", 0));
        prompt["3"]!["inputs"]!["sigmas"] = Link("13", 0);
        prompt["12"] = Node("KarrasScheduler", new JsonObject { ["steps"] = 4, ["sigma_max"] = 14.614642, ["sigma_min"] = 0.0291675, ["rho"] = 7 });
        var karras = SigmaSchedules.Karras(0.0291675, 14.614642, 4);
        Assert.Equal([0.0001f, karras[3], karras[2], karras[1], karras[0]], Sigmas(Convert(prompt), "n3"));
        // Flipped twice: falling again, ending at 0.0001 as in ComfyUI.
        Assert.Equal([karras[0], karras[1], karras[2], karras[3], 0.0001f], Sigmas(Convert(prompt), "n15"));
    }

    [Theory]
    [InlineData("euler_ancestral", "eta")]
    [InlineData("dpmpp_2m_sde", "eta")]
    [InlineData("ddpm", "euler")]
    [InlineData("heunpp2", "heun")]
    public void Samplers_undefined_on_rising_sigmas_are_a_node_error_naming_the_sampler(string sampler, string hint)
    {
        var prompt = RoundTrip(back: Link("14", 0));
        prompt["11"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = sampler });
        var (input, type, details) = ConversionError(prompt, "3");
        Assert.Equal(("sampler", "value_not_supported"), (input, type));
        Assert.Contains("rising sigmas", details, StringComparison.Ordinal);
        Assert.Contains(hint, details, StringComparison.Ordinal);
        // At eta 0 the ancestral step is the deterministic one, which unsamples.
        if (sampler == "euler_ancestral")
        {
            prompt["11"] = Node("SamplerEulerAncestral", new JsonObject { ["eta"] = 0.0, ["s_noise"] = 1.0 });
            Assert.Equal("euler_ancestral", Literal(Convert(prompt).Node("n3")!, "sampler"));
        }
    }

    [Theory]
    [InlineData("1, 0.5", new[] { 1f, 0.5f })]
    [InlineData("14.6 7.2;3 .5 0", new[] { 14.6f, 7.2f, 3f, 0.5f, 0f })]
    [InlineData("[0.0001, +2, 5.]", new[] { 0.0001f, 2f, 5f })]
    [InlineData("", new float[0])]
    public void Manual_sigmas_reads_the_numbers_as_ComfyUIs_pattern_finds_them(string text, float[] want)
    {
        var prompt = RoundTrip(back: Link("14", 0));
        prompt["12"] = Node("ManualSigmas", new JsonObject { ["sigmas"] = text });
        prompt["3"]!["inputs"]!["sigmas"] = Link("12", 0);
        var workflow = Convert(prompt);
        if (want.Length < 2)
        {
            // No step: SamplerCustom passes the latents through, as ComfyUI's empty sampler loop.
            Assert.Null(workflow.Node("n3"));
            return;
        }

        Assert.Equal(want, Sigmas(workflow, "n3"));
    }

    [Theory]
    [InlineData("3, 5, 4", "sigmas")]
    [InlineData("1..5, 0", "sigmas")]
    public void Manual_sigmas_that_are_no_schedule_are_node_errors(string text, string input)
    {
        var prompt = RoundTrip(back: Link("14", 0));
        prompt["12"] = Node("ManualSigmas", new JsonObject { ["sigmas"] = text });
        prompt["3"]!["inputs"]!["sigmas"] = Link("12", 0);
        var conversion = ApiPromptConverter.Convert(Parse(prompt.ToJsonString()), Folders, requireFiles: false);
        var error = conversion.NodeErrors.Values.SelectMany(e => e.Errors).First();
        Assert.Equal(input, error.InputName);
    }

    [Fact]
    public void Extend_intermediate_sigmas_splits_explicit_steps_here_and_passes_an_edit_for_a_schedule_by_name()
    {
        var prompt = RoundTrip(back: Link("14", 0));
        prompt["30"] = Node("ExtendIntermediateSigmas", new JsonObject
        {
            ["sigmas"] = Link("12", 0), ["steps"] = 3, ["start_at_sigma"] = -1.0, ["end_at_sigma"] = 2.0, ["spacing"] = "cosine",
        });
        prompt["13"]!["inputs"]!["sigmas"] = Link("30", 0);
        prompt["3"]!["inputs"]!["sigmas"] = Link("13", 0);
        Assert.Equal("extend 3 -1 2 cosine; flip", Literal(Convert(prompt).Node("n3")!, "sigma_edits"));

        prompt["12"] = Node("ManualSigmas", new JsonObject { ["sigmas"] = "10, 4, 1, 0" });
        Assert.Equal(SigmaEdits.Flip(SigmaEdits.Extend([10f, 4f, 1f, 0f], 3, -1, 2, "cosine")), Sigmas(Convert(prompt), "n3"));

        prompt["30"]!["inputs"]!["spacing"] = "log";
        Assert.Equal(("spacing", "value_not_in_list"), (ConversionError(prompt, "30").Input, ConversionError(prompt, "30").Type));
        prompt["30"]!["inputs"]!["spacing"] = "linear";
        prompt["30"]!["inputs"]!["steps"] = 101;
        Assert.Equal(("steps", "value_bigger_than_max"), (ConversionError(prompt, "30").Input, ConversionError(prompt, "30").Type));
    }

    [Fact]
    public async Task Add_noise_adds_the_seeds_noise_times_the_sigmas_span_and_disable_noise_adds_none()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = AddNoisePrompt(noise: "17");
        var workflow = Convert(prompt);
        var node = workflow.Nodes.Single(n => n.Type == "latent.add_noise");
        Assert.Equal(11L, Literal(node, "seed"));
        Assert.Equal("normal", Literal(node, "scheduler"));
        // Noised to the schedule's start, then sampled with add_noise off: the prompt's colour, as from fresh noise.
        var (r, g, b, _, _) = Images.Mean(await ClassMappingTests.RunForImageAsync(host, prompt));
        Assert.True(r > 0.98 && g < 0.02 && b < 0.02, $"noised and sampled: ({r:F3}, {g:F3}, {b:F3})");

        var disabled = AddNoisePrompt(noise: "18");
        Assert.DoesNotContain(Convert(disabled).Nodes, n => n.Type == "latent.add_noise");
    }

    // EmptyImage A → VAEEncode → SamplerCustom (euler, add_noise off, SplitSigmas(FlipSigmas(BasicScheduler normal 6), 1)'s
    // low half) → SamplerCustom (add_noise off, sigmas `back`: 17 the falling schedule's high half to step 5, 12 the whole
    // schedule, 14 FlipSigmas of the flipped) → VAEDecode.
    private static JsonObject RoundTrip(JsonArray back)
    {
        var prompt = Txt2Img(text: "red", steps: 6);
        prompt["20"] = Node("EmptyImage", new JsonObject { ["width"] = 64, ["height"] = 64, ["batch_size"] = 1, ["color"] = Blue });
        prompt["21"] = Node("VAEEncode", new JsonObject { ["pixels"] = Link("20", 0), ["vae"] = Link("4", 2) });
        prompt["11"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler" });
        prompt["12"] = Node("BasicScheduler", new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = "normal", ["steps"] = 6, ["denoise"] = 1 });
        prompt["13"] = Node("FlipSigmas", new JsonObject { ["sigmas"] = Link("12", 0) });
        prompt["14"] = Node("FlipSigmas", new JsonObject { ["sigmas"] = Link("13", 0) });
        prompt["16"] = Node("SplitSigmas", new JsonObject { ["sigmas"] = Link("13", 0), ["step"] = 1 });
        prompt["17"] = Node("SplitSigmas", new JsonObject { ["sigmas"] = Link("12", 0), ["step"] = 5 });
        prompt["3"] = Custom(sigmas: Link("16", 1), latent: Link("21", 0));
        prompt["15"] = Custom(sigmas: back, latent: Link("3", 0));
        prompt["8"]!["inputs"]!["samples"] = Link("15", 0);
        return prompt;
    }

    // EmptyLatentImage → AddNoise (RandomNoise 11 or DisableNoise, BasicScheduler normal 6) → SamplerCustom with add_noise off.
    private static JsonObject AddNoisePrompt(string noise)
    {
        var prompt = Txt2Img(text: "red", steps: 6);
        prompt["11"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler" });
        prompt["12"] = Node("BasicScheduler", new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = "normal", ["steps"] = 6, ["denoise"] = 1 });
        prompt["17"] = Node("RandomNoise", new JsonObject { ["noise_seed"] = 11 });
        prompt["18"] = Node("DisableNoise", new JsonObject());
        prompt["19"] = Node("AddNoise", new JsonObject { ["model"] = Link("4", 0), ["noise"] = Link(noise, 0), ["sigmas"] = Link("12", 0), ["latent_image"] = Link("5", 0) });
        prompt["3"] = Custom(sigmas: Link("12", 0), latent: Link("19", 0));
        return prompt;
    }

    private static JsonObject Custom(JsonArray sigmas, JsonArray latent) => Node("SamplerCustom", new JsonObject
    {
        ["model"] = Link("4", 0), ["add_noise"] = false, ["noise_seed"] = 0, ["cfg"] = 1.0, ["positive"] = Link("6", 0), ["negative"] = Link("7", 0),
        ["sampler"] = Link("11", 0), ["sigmas"] = sigmas, ["latent_image"] = latent,
    });

    private static ComfyFolders Folders => new(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

    private static Workflow Convert(JsonObject prompt)
    {
        var conversion = ApiPromptConverter.Convert(Parse(prompt.ToJsonString()), Folders, requireFiles: false);
        return conversion.Workflow ?? throw new Xunit.Sdk.XunitException(conversion.ErrorJson().ToJsonString());
    }

    private static (string Input, string Type, string Details) ConversionError(JsonObject prompt, string node)
    {
        var conversion = ApiPromptConverter.Convert(Parse(prompt.ToJsonString()), Folders, requireFiles: false);
        Assert.True(conversion.NodeErrors.ContainsKey(node), conversion.IsValid ? "no errors" : conversion.ErrorJson().ToJsonString());
        var error = conversion.NodeErrors[node].Errors[0];
        return (error.InputName!, error.Type, error.Details);
    }

    private static object? Literal(WorkflowNode node, string name) => ((LiteralValue)node.Parameter(name)!.Value).Value;

    private static float[] Sigmas(Workflow workflow, string node) =>
        ((string)Literal(workflow.Node(node)!, "sigmas")!).Split(',').Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray();
}
