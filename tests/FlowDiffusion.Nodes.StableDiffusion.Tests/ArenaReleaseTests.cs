using FlowDiffusion.Engine.Hosting;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// For 128×128 latents (1024² images) and larger, the samplers mark their last model evaluation, whose runs hand the
/// UNet arena's free memory back before the VAE decode (counted as the <c>onnx_arena_releases</c> metric); no other run
/// releases, and below that size none does.
/// </summary>
public sealed class ArenaReleaseTests : IDisposable
{
    private const string Metric = "onnx_arena_releases";

    // The run-memory estimate assumes SD 1.x attention at 1024² (16 GiB); the tiny model's real runs are small.
    private readonly SdEngine _engine = new(new FlowDiffusionOptions { PluginFolders = [RepositoryRoot.Plugins], MaxRunMemory = 64L << 30 });

    public void Dispose() => _engine.Dispose();

    [Theory]
    [InlineData("euler", 3, 1024, 1)]
    [InlineData("dpmpp_2m", 2, 1024, 1)]
    [InlineData("euler", 3, 512, 0)]
    public async Task The_sample_nodes_last_step_releases_once_for_large_latents(string scheduler, int steps, int size, int releases)
    {
        var run = (await _engine.RunFileAsync("txt2img.yaml", Inputs.Of("tiny-sd", "a cat", "dog", seed: 3, steps: steps, cfg: 5, scheduler: scheduler, size: size))).AssertCompleted();

        // Guidance batches both halves into one UNet call a step, so the last step is one run.
        Assert.Equal(releases, run.Result.Metrics.GetValueOrDefault(Metric));
    }

    [Theory]
    [InlineData("euler", 1024, 1)]
    // Heun's correction of the step before evaluates at the last sigma too, and the last step evaluates there once more.
    [InlineData("heun", 1024, 2)]
    [InlineData("heun", 64, 0)]
    public async Task The_ksamplers_evaluations_at_the_last_sigma_release_for_large_latents(string sampler, int size, int releases)
    {
        const string yaml = """
            flowdiffusion: 1
            name: ksampler arena
            inputs:
              model: { type: string }
              sampler: { type: string }
              size: { type: int }
            nodes:
              model: { node: model.load, with: { path: $model } }
              tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a cat } }
              positive: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens } }
              denoiser: { node: unet.denoiser, in: { unet: model.unet } }
              guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: positive.conditioning, negative: positive.conditioning }, with: { scale: 5 } }
              empty: { node: latent.empty, in: { unet: model.unet }, with: { width: $size, height: $size } }
              sample: { node: diffusion.ksampler, in: { guider: guider.guider, config: model.scheduler_config, latent_image: empty.latent }, with: { seed: 1, steps: 3, sampler: $sampler } }
              decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }
            """;
        var run = (await _engine.RunYamlAsync(yaml, new Dictionary<string, object?> { ["model"] = "models/tiny-sd", ["sampler"] = sampler, ["size"] = size })).AssertCompleted();

        Assert.Equal(releases, run.Result.Metrics.GetValueOrDefault(Metric));
    }
}
