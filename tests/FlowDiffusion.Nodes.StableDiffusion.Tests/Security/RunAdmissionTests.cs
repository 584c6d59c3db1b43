using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests.Security;

/// <summary>
/// Admission control: runs whose plan needs more memory than FlowDiffusion:MaxRunMemory, or text beyond the prompt
/// limit, are refused before they start, with the estimate and the setting named.
/// </summary>
public sealed class RunAdmissionTests
{
    private static Dictionary<string, object?> Inputs(params (string Key, object? Value)[] values) =>
        values.ToDictionary(v => v.Key, v => v.Value);

    [Fact]
    public void Txt2img_at_2048_squared_is_refused_with_the_estimate_and_the_limit()
    {
        var result = SdEngine.Shared.Load("txt2img.yaml", Inputs(("model", "models/tiny-sd"), ("width", 2048L), ("height", 2048L)));

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Contains("FlowDiffusion:MaxRunMemory", error.Message);
        Assert.Contains("UNet attention 256 GiB", error.Message);
    }

    [Fact]
    public void Denoise_steps_with_1000_steps_previewed_every_step_at_512_squared_is_refused_under_a_4_gib_limit()
    {
        using var engine = new FlowDiffusionEngine(Options.Create(new FlowDiffusionOptions { PluginFolders = [RepositoryRoot.Plugins], MaxRunMemory = 4L << 30 }),
            new ServiceCollection().BuildServiceProvider());

        var result = engine.Load(RepositoryRoot.Workflow("denoise-steps.yaml"), Inputs(("model", "models/tiny-sd"), ("steps", 1000L), ("every", 1L)));

        Assert.False(result.IsValid);
        Assert.Contains("previews kept 2.9 GiB", Assert.Single(result.Errors).Message);
    }

    [Fact]
    public void Txt2img_at_512_squared_is_admitted_and_its_estimate_is_the_sum_of_its_parts()
    {
        var result = SdEngine.Shared.Load("txt2img.yaml", Inputs(("model", "models/tiny-sd")));

        Assert.True(result.IsValid, string.Join("\n", result.Diagnostics));
        var estimate = RunMemoryEstimate.Of(result.Plan!);
        // 64² latent tokens, squared, 8 heads of float32, CFG batch 2: 1 GiB; VAE 2 KiB a pixel: 0.5 GiB.
        Assert.Contains("UNet attention 1 GiB", estimate.Parts);
        Assert.Contains("VAE 512 MiB", estimate.Parts);
        Assert.InRange(estimate.Bytes, (3L << 30) / 2, 2L << 30);
    }

    [Fact]
    public void A_prompt_of_1_9_mib_is_refused_before_the_run_naming_the_parameter_and_the_limit()
    {
        var prompt = new string('a', 2_000_000);

        var result = SdEngine.Shared.Load("txt2img.yaml", Inputs(("model", "models/tiny-sd"), ("prompt", prompt)));

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors, e => e.Message.Contains("MaxPromptCharacters"));
        Assert.Contains("parameter 'text' is 2,000,000 characters", error.Message);
    }
}
