using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// A standalone VAE file (sdxl_vae, the fp16-fix VAE) cannot say which latent scale it serves: model.load's vae_path on an
/// SDXL model takes the model's 0.13025, vae.load takes scaling_factor, and both leave SD 1.x's 0.18215 alone otherwise.
/// </summary>
public sealed class SdxlVaeSwapTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");
    private static readonly string Sdxl = Path.Combine(Data, "sdxl-tiny", "sdxl-fp16.safetensors");
    private static readonly string Sd1 = Path.Combine(Data, "sd1-tiny", "ldm-fp16.safetensors");
    private static readonly string Vae = Path.Combine(Data, "sd1-tiny", "vae", "swapped-vae.safetensors");

    [Fact]
    public async Task A_swapped_vae_takes_the_sdxl_models_latent_scale_and_vae_load_takes_the_one_given()
    {
        var yaml = $"""
            flowdiffusion: 1
            name: sdxl-vae-swap
            nodes:
              xl: {"{"} node: model.load, with: {"{"} path: "{Sdxl}", tokenizer_folder: models/tiny-sd/tokenizer, vae_path: "{Vae}" {"}"} {"}"}
              sd: {"{"} node: model.load, with: {"{"} path: "{Sd1}", tokenizer_folder: models/tiny-sd/tokenizer, vae_path: "{Vae}" {"}"} {"}"}
              plain: {"{"} node: vae.load, with: {"{"} path: "{Vae}" {"}"} {"}"}
              scaled: {"{"} node: vae.load, with: {"{"} path: "{Vae}", scaling_factor: 0.13025 {"}"} {"}"}
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

        Assert.Equal(0.13025f, Assert.IsAssignableFrom<IVae>(run.Result.Output("xl", "vae")).ScalingFactor);
        Assert.Equal(0.18215f, Assert.IsAssignableFrom<IVae>(run.Result.Output("sd", "vae")).ScalingFactor);
        Assert.Equal(0.18215f, Assert.IsAssignableFrom<IVae>(run.Result.Output("plain", "vae")).ScalingFactor);
        var scaled = Assert.IsAssignableFrom<IVae>(run.Result.Output("scaled", "vae"));
        Assert.Equal(0.13025f, scaled.ScalingFactor);
        Assert.NotSame(run.Result.Output("plain", "vae"), scaled);
    }
}
