namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// A1111's prompt editing and alternation end to end on analytic-sd, whose x0 is the prompt's colour whatever the input:
/// diffusion.ksampler's Euler over the "normal" schedule ends with the x0 of its last model evaluation, so the image's
/// colour is the text A1111 conditions that evaluation on (evaluation 9 of 10: the first schedule entry ending at or after 9).
/// </summary>
public sealed class PromptEditingWorkflowTests
{
    [Theory]
    [InlineData("a [red:blue:0.5] ball", 10, "blue")] // red to step 5, blue from 6
    [InlineData("a [red:blue:9] ball", 10, "red")] // a step number: red to step 9, and evaluation 9 is within it
    [InlineData("a [red:blue:8] ball", 10, "blue")]
    [InlineData("a [red|blue] ball", 10, "red")] // evaluation 9 takes step 9's text: red, blue, … red at odd steps
    [InlineData("a [red|blue] ball", 9, "blue")]
    [InlineData("a [blue::0.5] [red:0.5] ball", 10, "red")] // removal and addition
    [InlineData("a [red:[green:blue:9]:4] ball", 10, "green")] // nested: green from step 5 to 9, evaluation 9 included
    public async Task The_last_evaluation_uses_the_text_A1111_gives_it(string prompt, int steps, string colour)
    {
        var (r, g, b) = await ColourAsync(prompt, "", steps, cfg: 1, editing: true);
        var expected = colour switch { "red" => (1.0, 0.0, 0.0), "green" => (0.0, 1.0, 0.0), _ => (0.0, 0.0, 1.0) };
        Assert.True(Math.Abs(r - expected.Item1) < 0.02 && Math.Abs(g - expected.Item2) < 0.02 && Math.Abs(b - expected.Item3) < 0.02,
            $"{prompt}, {steps} steps: ({r:F3}, {g:F3}, {b:F3}), expected {colour}");
    }

    [Fact]
    public async Task The_negative_prompt_is_edited_too_and_in_ComfyUIs_syntax_brackets_are_text()
    {
        // CFG 0.5: (u + c) / 2 with the red positive, so the colour names the negative of the last evaluation.
        var (r, g, b) = await ColourAsync("a red ball", "a [green:blue:0.5] ball", 10, cfg: 0.5, editing: true);
        Assert.True(Math.Abs(r - 0.5) < 0.02 && g < 0.02 && Math.Abs(b - 0.5) < 0.02, $"edited negative: ({r:F3}, {g:F3}, {b:F3})");

        // ComfyUI's syntax (the ComfyUI layer's): the brackets are text, red and blue weigh alike and the colour is their mean.
        (r, g, b) = await ColourAsync("a [red:blue:0.5] ball", "", 10, cfg: 1, editing: false);
        Assert.True(Math.Abs(r - 0.5) < 0.02 && g < 0.02 && Math.Abs(b - 0.5) < 0.02, $"not edited: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Theory]
    // A1111's AND sums the parts' guidance: u + s·Σ wᵢ·(cᵢ − u), u the empty negative's grey. At CFG 0.5 red AND blue gives
    // 0.5 + 0.5·((0.5, −0.5, −0.5) + (−0.5, −0.5, 0.5)) = (0.5, 0, 0.5), where ComfyUI's averaging would give (0.5, 0.25, 0.5).
    [InlineData("a red ball AND a blue ball", 0.5, 0.5, 0.0, 0.5)]
    [InlineData("a red ball :0.5 AND a blue ball :1.5", 0.5, 0.25, 0.0, 0.75)]
    [InlineData("a red ball:0.5", 1.0, 0.75, 0.25, 0.25)] // one weighted part: u + 0.5·(c − u)
    [InlineData("a [red:green:0.5] ball AND a blue ball", 0.5, 0.0, 0.5, 0.5)] // edited within a part: green at the last step
    public async Task Composed_prompts_add_their_parts_guidance_as_A1111(string prompt, double cfg, double r, double g, double b)
    {
        var colour = await ColourAsync(prompt, "", 10, cfg, editing: true);
        Assert.True(Math.Abs(colour.R - r) < 0.02 && Math.Abs(colour.G - g) < 0.02 && Math.Abs(colour.B - b) < 0.02,
            $"{prompt} at CFG {cfg}: ({colour.R:F3}, {colour.G:F3}, {colour.B:F3}), expected ({r}, {g}, {b})");
    }

    [Fact]
    public async Task An_edited_prompt_that_would_encode_too_many_windows_fails_the_tokenizer_saying_how_many()
    {
        // 64 alternatives of a 1,500-word prompt: 64 texts of 21 windows each.
        var options = string.Join("|", Enumerable.Range(0, 64).Select(i => $"x{i}"));
        var text = $"[{options}] " + string.Join(' ', Enumerable.Repeat("red", 1500));
        var yaml = $$"""
            flowdiffusion: 1
            name: too many windows
            nodes:
              model: { node: model.load, with: { path: models/analytic-sd } }
              tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "{{text}}" } }
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Equal("tokens", run.Result.FailedNode);
        Assert.Contains("the edited prompt takes 64 texts of 1344 77-token windows in all; at most 1024 are encoded", run.Result.Error, StringComparison.Ordinal);
    }

    private static async Task<(double R, double G, double B)> ColourAsync(string positive, string negative, int steps, double cfg, bool editing)
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: prompt editing
            nodes:
              model: { node: model.load, with: { path: models/analytic-sd } }
              pos_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "{{positive}}", syntax: {{(editing ? "a1111" : "comfyui")}} } }
              neg_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "{{negative}}" } }
              positive: { node: clip.encode, in: { clip: model.clip, tokens: pos_tokens.tokens } }
              negative: { node: clip.encode, in: { clip: model.clip, tokens: neg_tokens.tokens } }
              denoiser: { node: unet.denoiser, in: { unet: model.unet } }
              guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: positive.conditioning, negative: negative.conditioning }, with: { scale: {{cfg.ToString(System.Globalization.CultureInfo.InvariantCulture)}} } }
              empty: { node: latent.empty, in: { unet: model.unet }, with: { width: 64, height: 64 } }
              sample: { node: diffusion.ksampler, in: { guider: guider.guider, config: model.scheduler_config, latent_image: empty.latent }, with: { seed: 4, sampler: euler, scheduler: normal, steps: {{steps}} } }
              decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }
            """;
        var image = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted().Image();
        var mean = Colour.MeanOf(image);
        return (mean.R, mean.G, mean.B);
    }
}
