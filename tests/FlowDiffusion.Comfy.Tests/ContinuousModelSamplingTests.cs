using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's ModelSamplingContinuousEDM and ModelSamplingContinuousV on analytic-sd, an ε-model that reads its noise level
/// from SD's training sigma at the timestep it is fed. One step from sigma_max lands on the prompt's colour exactly when the
/// model reads that sigma: for sigma_max = SD's smallest sigma (0.0291672) the EDM timestep ¼·ln σ is below 0, which the
/// model clamps to t = 0, that very sigma. At sigma_max 0.1 the EDM timestep (−0.58, read as 0.0291672) misreads it, where
/// a discrete timestep (t ≈ 10, σ ≈ 0.1) would not: the colour is lost. (At these small sigmas ε read as v is nearly right,
/// so v_prediction alone is no test.) The prompt is red and blue, (0.5, 0, 0.5).
/// </summary>
public sealed class ContinuousModelSamplingTests
{
    private const string SdSmallestSigma = "0.029167158529162407";

    [Theory]
    [InlineData("ModelSamplingContinuousEDM", "eps", SdSmallestSigma, true)] // the model reads the sigma it is given: purple
    [InlineData("ModelSamplingContinuousEDM", "eps", "0.1", false)] // the continuous timestep misreads 0.1 (a discrete one would not)
    [InlineData("ModelSamplingContinuousEDM", "edm", SdSmallestSigma, false)] // σ_data 0.5 doubles the input and c_out adds the noise back
    [InlineData("ModelSamplingContinuousV", "v_prediction", "0.1", false)] // 2/π·atan 0.1 is read as t ≈ 0.06, σ ≈ 0.0292
    public async Task One_step_from_sigma_max_gives_the_prompt_colour_only_where_the_model_reads_that_sigma(string type, string sampling, string sigmaMax, bool purple)
    {
        await using var host = await ComfyHost.StartAsync();
        var (r, g, b) = await ClassMappingTests.RunMeanAsync(host, Patched(type, sampling, sigmaMax, "0.002"));
        var isPurple = Math.Abs(r - 0.5) < 0.02 && g < 0.02 && Math.Abs(b - 0.5) < 0.02;
        Assert.True(isPurple == purple, $"{type} {sampling} sigma_max {sigmaMax}: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Theory]
    [InlineData("ModelSamplingContinuousEDM", "edm", "edm", "edm")]
    [InlineData("ModelSamplingContinuousEDM", "eps", "edm", "epsilon")]
    [InlineData("ModelSamplingContinuousV", "v_prediction", "v", "v_prediction")]
    public void The_sampler_reads_the_continuous_sampling_node(string type, string sampling, string schedule, string prediction)
    {
        var conversion = Convert(Patched(type, sampling, "80", "0.002"));

        Assert.Empty(conversion.NodeErrors);
        var patch = conversion.Workflow!.Node(ApiPromptConverter.NodeId("30"))!;
        Assert.Equal("model.sampling_continuous", patch.Type);
        Assert.Equal(schedule, ((LiteralValue)patch.Parameter("schedule")!.Value).Value);
        Assert.Equal(prediction, ((LiteralValue)patch.Parameter("prediction_type")!.Value).Value);
        Assert.Equal(80.0, ((LiteralValue)patch.Parameter("sigma_max")!.Value).Value);
        var sampler = conversion.Workflow.Node(ApiPromptConverter.NodeId("3"))!;
        Assert.Equal((ApiPromptConverter.NodeId("30"), "result"), (sampler.Edge("config")!.SourceNode, sampler.Edge("config")!.SourceOutput));
    }

    [Theory]
    [InlineData("ModelSamplingContinuousEDM", "edm_playground_v2.5", "80", "0.002", "value_not_in_list", "Playground v2.5's latent format")]
    [InlineData("ModelSamplingContinuousEDM", "cosmos_rflow", "80", "0.002", "value_not_in_list", "rectified-flow")]
    [InlineData("ModelSamplingContinuousV", "edm", "80", "0.002", "value_not_in_list", "edm")]
    [InlineData("ModelSamplingContinuousEDM", "edm", "1000.5", "0.002", "value_bigger_than_max", "above 1000")]
    [InlineData("ModelSamplingContinuousEDM", "edm", "80", "-1", "value_smaller_than_min", "below 0")]
    [InlineData("ModelSamplingContinuousEDM", "edm", "80", "0", "value_not_supported", "above 0 and below sigma_max")]
    [InlineData("ModelSamplingContinuousV", "v_prediction", "5", "20", "value_not_supported", "above 0 and below sigma_max")]
    public void Unsupported_samplings_and_ranges_are_node_errors(string type, string sampling, string sigmaMax, string sigmaMin, string error, string details)
    {
        var conversion = Convert(Patched(type, sampling, sigmaMax, sigmaMin));

        var found = Assert.Single(conversion.NodeErrors["30"].Errors);
        Assert.Equal(error, found.Type);
        Assert.Contains(details, found.Details, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Object_info_gives_ComfyUIs_samplings_ranges_and_defaults()
    {
        await using var host = await ComfyHost.StartAsync();
        var all = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!;
        string Range(string type, string input)
        {
            var options = all[type]!["input"]!["required"]![input]![1]!;
            return $"{options["default"]} {options["min"]} … {options["max"]} step {options["step"]} round {options["round"]}";
        }

        Assert.Equal(["v_prediction", "edm", "edm_playground_v2.5", "eps", "cosmos_rflow"],
            all["ModelSamplingContinuousEDM"]!["input"]!["required"]!["sampling"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("120 0 … 1000 step 0.001 round false", Range("ModelSamplingContinuousEDM", "sigma_max"));
        Assert.Equal("0.002 0 … 1000 step 0.001 round false", Range("ModelSamplingContinuousEDM", "sigma_min"));
        Assert.Equal(["v_prediction"], all["ModelSamplingContinuousV"]!["input"]!["required"]!["sampling"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("500 0 … 1000 step 0.001 round false", Range("ModelSamplingContinuousV", "sigma_max"));
        Assert.Equal("0.03 0 … 1000 step 0.001 round false", Range("ModelSamplingContinuousV", "sigma_min"));
        Assert.Equal(["MODEL"], all["ModelSamplingContinuousV"]!["output"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    private static PromptConversion Convert(JsonObject prompt) =>
        ApiPromptConverter.Convert(prompt, new ComfyFolders(RepositoryRoot.Path, RepositoryRoot.Path, RepositoryRoot.Path), requireFiles: false);

    // The default graph (a red blue ball, CFG 1, one karras step) with the continuous sampling between the checkpoint and the sampler.
    private static JsonObject Patched(string type, string sampling, string sigmaMax, string sigmaMin)
    {
        var prompt = Prompts.Txt2Img(text: "a red blue ball", steps: 1, scheduler: "karras");
        prompt["30"] = new JsonObject
        {
            ["class_type"] = type,
            ["inputs"] = new JsonObject { ["model"] = new JsonArray("4", 0), ["sampling"] = sampling, ["sigma_max"] = JsonNode.Parse(sigmaMax), ["sigma_min"] = JsonNode.Parse(sigmaMin) },
        };
        prompt["3"]!["inputs"]!["model"] = new JsonArray("30", 0);
        return prompt;
    }
}
