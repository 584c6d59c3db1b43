using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's ModelSamplingDiscrete on analytic-sd, an ε-model whose x0 is the prompt's colour when the sampler reads its
/// output with the schedule it was made for (SD's). Read as v, or with the zero-terminal-SNR schedule, the colour is lost.
/// The prompt is red and blue, (0.5, 0, 0.5): a wrong reading cannot hide in colours clamped at 1, nor in grey's zero latent.
/// </summary>
public sealed class ModelSamplingTests
{
    [Theory]
    [InlineData("eps", false, 5, true)] // the model's own reading: purple
    [InlineData("v_prediction", false, 1, false)] // its ε read as v (at the small last sigmas of longer runs the two readings nearly agree)
    [InlineData("eps", true, 1, false)] // one step from sigma 4518.8 (zsnr) instead of 14.6: x0 is no longer the colour
    [InlineData("eps", false, 1, true)] // one step from 14.6 lands on the colour exactly
    public async Task The_prediction_type_and_zero_snr_reach_the_sampler(string sampling, bool zsnr, int steps, bool purple)
    {
        await using var host = await ComfyHost.StartAsync();
        var (r, g, b) = await ClassMappingTests.RunMeanAsync(host, Patched(sampling, zsnr, steps));
        var isPurple = Math.Abs(r - 0.5) < 0.02 && g < 0.02 && Math.Abs(b - 0.5) < 0.02;
        Assert.True(isPurple == purple, $"{sampling}, zsnr {zsnr}, {steps} steps: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public void The_sampler_reads_the_patched_scheduler_configuration()
    {
        var conversion = ApiPromptConverter.Convert(Patched("v_prediction", true, 4), new ComfyFolders(RepositoryRoot.Path, RepositoryRoot.Path, RepositoryRoot.Path), requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var workflow = conversion.Workflow!;
        var patch = workflow.Node(ApiPromptConverter.NodeId("30"))!;
        Assert.Equal("model.sampling", patch.Type);
        Assert.Equal("v_prediction", ((LiteralValue)patch.Parameter("prediction_type")!.Value).Value);
        Assert.Equal(true, ((LiteralValue)patch.Parameter("zero_snr")!.Value).Value);
        Assert.Equal((ApiPromptConverter.NodeId("4"), "scheduler_config"), (patch.Edge("config")!.SourceNode, patch.Edge("config")!.SourceOutput));
        var sampler = workflow.Node(ApiPromptConverter.NodeId("3"))!;
        Assert.Equal((ApiPromptConverter.NodeId("30"), "result"), (sampler.Edge("config")!.SourceNode, sampler.Edge("config")!.SourceOutput));
    }

    [Fact]
    public async Task Samplings_flowdiffusion_does_not_run_are_node_errors_naming_the_supported_ones()
    {
        await using var host = await ComfyHost.StartAsync();
        var (status, body) = await host.PostPromptAsync(Patched("lcm", false, 4));
        Assert.Equal(400, status);
        var error = body["node_errors"]!["30"]!["errors"]![0]!;
        Assert.Equal("value_not_in_list", error["type"]!.GetValue<string>());
        Assert.Contains("supported: eps, v_prediction", error["details"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    // The default graph (a red blue ball, CFG 1, normal schedule) with ModelSamplingDiscrete between the checkpoint and the sampler.
    private static JsonObject Patched(string sampling, bool zsnr, int steps)
    {
        var prompt = Prompts.Txt2Img(text: "a red blue ball", steps: steps);
        prompt["30"] = new JsonObject { ["class_type"] = "ModelSamplingDiscrete", ["inputs"] = new JsonObject { ["model"] = new JsonArray("4", 0), ["sampling"] = sampling, ["zsnr"] = zsnr } };
        prompt["3"]!["inputs"]!["model"] = new JsonArray("30", 0);
        return prompt;
    }
}
