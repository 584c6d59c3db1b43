using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// guidance.cfg's rescale (ComfyUI's RescaleCFG; the arithmetic is checked against torch in CfgRescaleTests) in the
/// shipped txt2img workflow: it needs the model's scheduler configuration, and with it changes the sample under a sigma
/// sampler (the sampler gives sigma) and under DDIM (the guider derives sigma from the timestep).
/// </summary>
public sealed class CfgRescaleWorkflowTests
{
    [Fact]
    public async Task Rescale_without_the_scheduler_configuration_fails_the_guider_saying_what_to_link()
    {
        var yaml = Txt2Img(rescale: 0.7, linkConfig: false);
        var run = await SdEngine.Shared.RunYamlAsync(yaml, Inputs.Of("analytic-sd", "red", steps: 2));

        run.AssertFailed("guider", "rescale needs the model's scheduler configuration: link config");
    }

    [Theory]
    [InlineData("euler")]
    [InlineData("ddim")]
    public async Task Rescale_changes_the_sample_and_zero_leaves_it(string scheduler)
    {
        var inputs = Inputs.Of("analytic-sd", "red", steps: 4).With("scheduler", scheduler).With("cfg", "7.5");
        var plain = (await SdEngine.Shared.RunYamlAsync(Txt2Img(rescale: 0, linkConfig: false), inputs)).AssertCompleted().Latent().Values.ToArray();
        var zero = (await SdEngine.Shared.RunYamlAsync(Txt2Img(rescale: 0, linkConfig: true), inputs)).AssertCompleted().Latent().Values.ToArray();
        var rescaled = (await SdEngine.Shared.RunYamlAsync(Txt2Img(rescale: 0.7, linkConfig: true), inputs)).AssertCompleted().Latent().Values.ToArray();

        Assert.Equal(plain, zero);
        var moved = plain.Zip(rescaled, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(moved > 0.05, $"{scheduler}: rescale 0.7 moved the latents by at most {moved}");
    }

    private static string Txt2Img(double rescale, bool linkConfig)
    {
        var yaml = File.ReadAllText(RepositoryRoot.Workflow("txt2img.yaml"));
        var guider = "      negative: negative.conditioning\n    with:\n      scale: $cfg\n";
        Assert.Contains(guider, yaml, StringComparison.Ordinal);
        return yaml.Replace(guider, "      negative: negative.conditioning\n" + (linkConfig ? "      config: model.scheduler_config\n" : "") +
            $"    with:\n      scale: $cfg\n      rescale: {rescale.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n", StringComparison.Ordinal);
    }
}
