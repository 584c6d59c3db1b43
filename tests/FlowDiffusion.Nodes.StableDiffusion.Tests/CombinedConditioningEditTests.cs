namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// conditioning.average and conditioning.mix on combined conditionings (conditioning.combine), end to end on analytic-sd,
/// whose x0 is the mean colour of the prompt's colour words: as ComfyUI's ConditioningAverage and ConditioningConcat, every
/// part of the first input is edited with the first part of the second, and the guider averages the parts' predictions.
/// </summary>
public sealed class CombinedConditioningEditTests
{
    [Theory]
    // Each of red and blue averaged to green: green. Only the first part edited would give (0, 0.5, 0.5).
    [InlineData("average_to", 0.0, 1.0, 0.0)]
    // red+green and blue+green, concatenated: (0.5, 0.5, 0) and (0, 0.5, 0.5), averaged. Unedited parts give (0.5, 0, 0.5).
    [InlineData("concat_to", 0.25, 0.5, 0.25)]
    // From's first part only: red+green. Taking from's parts over would give green and blue: (0, 0.5, 0.5).
    [InlineData("concat_from", 0.5, 0.5, 0.0)]
    [InlineData("average_from", 0.0, 1.0, 0.0)]
    public async Task Every_part_of_the_first_is_edited_with_the_first_part_of_the_second(string output, double r, double g, double b)
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: combined edits
            nodes:
              model: { node: model.load, with: { path: models/analytic-sd } }
              red_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a red ball } }
              blue_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a blue ball } }
              green_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a green ball } }
              empty_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "" } }
              red: { node: clip.encode, in: { clip: model.clip, tokens: red_tokens.tokens } }
              blue: { node: clip.encode, in: { clip: model.clip, tokens: blue_tokens.tokens } }
              green: { node: clip.encode, in: { clip: model.clip, tokens: green_tokens.tokens } }
              negative: { node: clip.encode, in: { clip: model.clip, tokens: empty_tokens.tokens } }
              red_blue: { node: conditioning.combine, in: { a: red.conditioning, b: blue.conditioning } }
              green_blue: { node: conditioning.combine, in: { a: green.conditioning, b: blue.conditioning } }
              average_to: { node: conditioning.average, in: { to: red_blue.conditioning, from: green.conditioning }, with: { to_strength: 0 } }
              average_from: { node: conditioning.average, in: { to: red.conditioning, from: green_blue.conditioning }, with: { to_strength: 0 } }
              concat_to: { node: conditioning.mix, in: { a: red_blue.conditioning, b: green.conditioning }, with: { mode: concat } }
              concat_from: { node: conditioning.mix, in: { a: red.conditioning, b: green_blue.conditioning }, with: { mode: concat } }
              denoiser: { node: unet.denoiser, in: { unet: model.unet } }
              guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: {{output}}.conditioning, negative: negative.conditioning }, with: { scale: 1 } }
              empty: { node: latent.empty, in: { unet: model.unet }, with: { width: 64, height: 64 } }
              sample: { node: diffusion.ksampler, in: { guider: guider.guider, config: model.scheduler_config, latent_image: empty.latent }, with: { seed: 4, sampler: euler, scheduler: normal, steps: 4 } }
              decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }
            """;
        var image = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted().Image();
        var mean = Colour.MeanOf(image);
        Assert.True(Math.Abs(mean.R - r) < 0.02 && Math.Abs(mean.G - g) < 0.02 && Math.Abs(mean.B - b) < 0.02,
            $"{output}: ({mean.R:F3}, {mean.G:F3}, {mean.B:F3}), expected ({r}, {g}, {b})");
    }
}
