namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// The samplers mark their last model evaluation, whose runs hand the UNet arena's free memory back before the VAE
/// decode (counted as the <c>onnx_arena_releases</c> metric); no other run releases.
/// </summary>
public sealed class ArenaReleaseTests
{
    private const string Metric = "onnx_arena_releases";

    [Theory]
    [InlineData("euler", 4)]
    [InlineData("dpmpp_2m", 3)]
    public async Task The_sample_nodes_last_step_releases_once(string scheduler, int steps)
    {
        var run = (await SdEngine.Shared.RunFileAsync("txt2img.yaml", Inputs.Of("tiny-sd", "a cat", "dog", seed: 3, steps: steps, cfg: 5, scheduler: scheduler))).AssertCompleted();

        // Guidance batches both halves into one UNet call a step, so the last step is one run.
        Assert.Equal(1, run.Result.Metrics.GetValueOrDefault(Metric));
    }

    [Theory]
    [InlineData("euler", 1)]
    // Heun's correction of the step before evaluates at the last sigma too, and the last step evaluates there once more.
    [InlineData("heun", 2)]
    public async Task The_ksamplers_evaluations_at_the_last_sigma_release(string sampler, int releases)
    {
        const string yaml = """
            flowdiffusion: 1
            name: ksampler arena
            inputs:
              model: { type: string }
              sampler: { type: string }
            nodes:
              model: { node: model.load, with: { path: $model } }
              tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a cat } }
              positive: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens } }
              denoiser: { node: unet.denoiser, in: { unet: model.unet } }
              guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: positive.conditioning, negative: positive.conditioning }, with: { scale: 5 } }
              empty: { node: latent.empty, in: { unet: model.unet }, with: { width: 64, height: 64 } }
              sample: { node: diffusion.ksampler, in: { guider: guider.guider, config: model.scheduler_config, latent_image: empty.latent }, with: { seed: 1, steps: 3, sampler: $sampler } }
              decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?> { ["model"] = "models/tiny-sd", ["sampler"] = sampler })).AssertCompleted();

        Assert.Equal(releases, run.Result.Metrics.GetValueOrDefault(Metric));
    }
}
