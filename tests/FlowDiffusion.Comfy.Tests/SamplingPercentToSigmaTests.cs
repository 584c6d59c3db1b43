using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's SamplingPercentToSigma: its FLOAT, settled at conversion, flows into SetFirstSigma's sigma and equals
/// ComfyUI's percent_to_sigma written out here in float64 from SD's training schedule (tiny-sd's scaled_linear betas
/// 0.00085 … 0.012 over 1000 steps; ModelSamplingDiscrete's zero-terminal-SNR rescale) within 1e-5 relative; return_actual_sigma
/// gives the table's ends at 0 and 1; a prompt with the link draws the pixels of the same prompt with the value typed in;
/// a model whose schedule is known only at run time and an out-of-range percent are node errors naming the input.
/// </summary>
public sealed class SamplingPercentToSigmaTests
{
    private static readonly ComfyFolders Folders = new(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

    [Theory]
    [InlineData(0.3, false, false)]
    [InlineData(0.5, false, false)]
    [InlineData(0.77, false, false)]
    [InlineData(0.0001, false, false)]
    [InlineData(0.0, true, false)]
    [InlineData(1.0, true, false)]
    [InlineData(1.0, false, false)]
    [InlineData(0.5, false, true)]
    [InlineData(0.0, true, true)]
    public void The_sigma_flowing_into_setfirstsigma_is_comfyuis_percent_to_sigma_of_the_models_schedule(double percent, bool actual, bool zeroSnr)
    {
        var sigmas = TrainingSigmas(zeroSnr);
        var expected = actual && percent == 0 ? sigmas[^1]
            : actual && percent == 1 ? sigmas[0]
            : percent >= 1 ? 0
            : PercentToSigma(sigmas, percent);

        var got = FirstSigma(Prompt(percent, actual, zeroSnr));

        Assert.True(Math.Abs(got - expected) <= 1e-5 * expected, $"{got} vs {expected}");
    }

    [Fact]
    public async Task A_prompt_with_the_link_draws_the_pixels_of_the_same_prompt_with_the_value_typed_in()
    {
        var linked = Prompt(0.1, actual: false, zeroSnr: false);
        var typed = Prompt(0.1, actual: false, zeroSnr: false);
        typed["21"]!["inputs"]!["sigma"] = FirstSigma(linked);
        typed.Remove("20");
        await using var host = await ComfyHost.StartAsync();

        Assert.Equal(ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, typed)), ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, linked)));
    }

    [Fact]
    public async Task A_schedule_known_only_at_run_time_and_a_percent_out_of_range_are_node_errors_naming_the_input()
    {
        var continuous = Prompt(0.5, actual: false, zeroSnr: false);
        continuous["22"] = Node("ModelSamplingContinuousEDM", new JsonObject { ["model"] = Link("4", 0), ["sampling"] = "eps", ["sigma_max"] = 120, ["sigma_min"] = 0.002 });
        continuous["20"]!["inputs"]!["model"] = Link("22", 0);
        var error = Assert.Single(ApiPromptConverter.Convert(continuous, Folders).NodeErrors["20"].Errors);
        Assert.Equal(("value_not_supported", "model"), (error.Type, error.InputName));

        var outside = Assert.Single(ApiPromptConverter.Convert(Prompt(1.5, actual: false, zeroSnr: false), Folders).NodeErrors["20"].Errors);
        Assert.Equal(("value_bigger_than_max", "sampling_percent"), (outside.Type, outside.InputName));

        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/SamplingPercentToSigma"))!["SamplingPercentToSigma"]!;
        Assert.Equal(["model", "sampling_percent", "return_actual_sigma"], info["input"]!["required"]!.AsObject().Select(p => p.Key));
        Assert.Equal((0.0001, 1.0), (info["input"]!["required"]!["sampling_percent"]![1]!["step"]!.GetValue<double>(), info["input"]!["required"]!["sampling_percent"]![1]!["max"]!.GetValue<double>()));
        Assert.Equal(["FLOAT"], info["output"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal(["sigma_value"], info["output_name"]!.AsArray().Select(o => o!.GetValue<string>()));
    }

    // SD's training sigmas as ComfyUI's ModelSamplingDiscrete defines them, in float64: √β linear from √0.00085 to √0.012
    // over 1000 steps, ᾱ the running product of 1 − β, σ = √((1 − ᾱ)/ᾱ); with zsnr √ᾱ shifted to end at 0 and scaled to
    // keep its start, the last ᾱ then 4.8973451890853435e-08.
    private static double[] TrainingSigmas(bool zeroSnr)
    {
        var alphaBar = new double[1000];
        double product = 1;
        for (var i = 0; i < alphaBar.Length; i++)
        {
            var root = Math.Sqrt(0.00085) + ((Math.Sqrt(0.012) - Math.Sqrt(0.00085)) * i / 999);
            product *= 1 - (root * root);
            alphaBar[i] = product;
        }

        if (zeroSnr)
        {
            var (first, last) = (Math.Sqrt(alphaBar[0]), Math.Sqrt(alphaBar[^1]));
            alphaBar = [.. alphaBar.Select(a => Math.Pow((Math.Sqrt(a) - last) * first / (first - last), 2))];
            alphaBar[^1] = 4.8973451890853435e-08;
        }

        return [.. alphaBar.Select(a => Math.Sqrt((1 - a) / a))];
    }

    // percent_to_sigma: ln σ interpolated linearly at t = (1 − p)·999.
    private static double PercentToSigma(double[] sigmas, double percent)
    {
        var t = (1 - percent) * 999;
        var (low, high) = ((int)Math.Floor(t), (int)Math.Ceiling(t));
        var w = t - low;
        return Math.Exp(((1 - w) * Math.Log(sigmas[low])) + (w * Math.Log(sigmas[high])));
    }

    // The sigma SetFirstSigma (node 21) hands the sampler: its "first σ" edit on the schedule by name.
    private static double FirstSigma(JsonObject prompt)
    {
        var conversion = ApiPromptConverter.Convert(prompt, Folders);
        Assert.True(conversion.NodeErrors.Count == 0, string.Join("; ", conversion.NodeErrors.SelectMany(e => e.Value.Errors.Select(x => $"{e.Key}: {x.Details}"))));
        var edits = (string)((LiteralValue)conversion.Workflow!.Node(ApiPromptConverter.NodeId("3"))!.Parameter("sigma_edits")!.Value).Value!;
        Assert.StartsWith("first ", edits);
        return double.Parse(edits["first ".Length..], CultureInfo.InvariantCulture);
    }

    // tiny-sd's txt2img with SamplerCustom (CFG 3, BasicScheduler normal, 4 steps) whose first sigma is set by
    // SetFirstSigma (21) to SamplingPercentToSigma's value (20), on the model patched by ModelSamplingDiscrete zsnr if asked.
    private static JsonObject Prompt(double percent, bool actual, bool zeroSnr)
    {
        var prompt = Txt2Img(model: "tiny-sd", text: "a red circle");
        var model = Link("4", 0);
        if (zeroSnr)
        {
            prompt["23"] = Node("ModelSamplingDiscrete", new JsonObject { ["model"] = Link("4", 0), ["sampling"] = "eps", ["zsnr"] = true });
            model = Link("23", 0);
        }

        prompt["3"] = Node("SamplerCustom", new JsonObject
        {
            ["model"] = model, ["add_noise"] = true, ["noise_seed"] = 9, ["cfg"] = 3, ["positive"] = Link("6", 0), ["negative"] = Link("7", 0),
            ["sampler"] = Link("11", 0), ["sigmas"] = Link("21", 0), ["latent_image"] = Link("5", 0),
        });
        prompt["11"] = Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler" });
        prompt["12"] = Node("BasicScheduler", new JsonObject { ["model"] = model.DeepClone(), ["scheduler"] = "normal", ["steps"] = 4, ["denoise"] = 1 });
        prompt["20"] = Node("SamplingPercentToSigma", new JsonObject { ["model"] = model.DeepClone(), ["sampling_percent"] = percent, ["return_actual_sigma"] = actual });
        prompt["21"] = Node("SetFirstSigma", new JsonObject { ["sigmas"] = Link("12", 0), ["sigma"] = Link("20", 0) });
        return prompt;
    }
}
