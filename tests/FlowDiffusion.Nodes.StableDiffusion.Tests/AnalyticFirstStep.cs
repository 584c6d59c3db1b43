namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// diffusion.ksampler on analytic-sd (x0 the prompt's colour whatever the input) from empty 64 × 64 latents, stopped after
/// its first step with the noise left in (KSamplerAdvanced's end_step): what that one step did to the latents.
/// </summary>
internal static class AnalyticFirstStep
{
    /// <summary>The latents after the first step.</summary>
    /// <param name="sampler">The sampler name.</param>
    /// <param name="schedule">The schedule's parameters as YAML flow entries, e.g. <c>scheduler: normal, steps: 3</c>.</param>
    /// <param name="seed">The seed.</param>
    /// <param name="prompt">The prompt (its colour words set x0).</param>
    public static async Task<float[]> LatentsAsync(string sampler, string schedule, ulong seed, string prompt)
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: first step
            nodes:
              model: { node: model.load, with: { path: models/analytic-sd } }
              tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: {{prompt}} } }
              positive: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens } }
              denoiser: { node: unet.denoiser, in: { unet: model.unet } }
              guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: positive.conditioning, negative: positive.conditioning }, with: { scale: 1 } }
              empty: { node: latent.empty, in: { unet: model.unet }, with: { width: 64, height: 64 } }
              sample: { node: diffusion.ksampler, in: { guider: guider.guider, config: model.scheduler_config, latent_image: empty.latent }, with: { seed: {{seed}}, sampler: {{sampler}}, {{schedule}}, end_step: 1, return_with_leftover_noise: true } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        return run.Latent().ToArray();
    }
}
