namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// A third-party pack (tests/FlowDiffusion.TestConditioning) adds a conditioning kind — extra context tokens — and a
/// denoiser wrapper that appends them to the text context, wired between the SD pack's own nodes. On analytic-sd a
/// context token (r, g, b, 1) counts as one more colour word, so the prompt's colour becomes the mean of its colour
/// words and the token; CFG then gives u + s·(c − u). Euler with Karras sigmas ends at sigma 0, so the closed form is
/// met exactly (up to the decoder's float arithmetic).
/// </summary>
public sealed class ConditioningExtrasTests : IDisposable
{
    private static readonly Colour Green = new(0, 1, 0);
    private static readonly Colour Gray = Colour.Gray;
    private static readonly Colour PositiveToken = new(0.6, 0.2, 0.8);
    private static readonly Colour NegativeToken = new(0.2, 0.2, 0.2);

    private readonly SdEngine _engine = new(RepositoryRoot.ConditioningPlugins);

    private static string Workflow => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "extra-tokens.yaml"));

    [Fact]
    public async Task Tokens_on_both_prompts_reach_each_cfg_half_through_the_wrapped_denoiser()
    {
        var run = (await _engine.RunYamlAsync(Workflow, new Dictionary<string, object?>())).AssertCompleted();

        // c = mean(green, token) = (0.3, 0.6, 0.4); u = mean(gray, (0.2, 0.2, 0.2)) = (0.35, 0.35, 0.35);
        // u + 1.5·(c − u) = (0.275, 0.725, 0.425). Halves swapped would give (0.375, 0.225, 0.325); tokens ignored, (0, 1, 0).
        var expected = Colour.Guided(Mean(Gray, NegativeToken), Mean(Green, PositiveToken), 1.5);
        Colour.Near(new Colour(0.275, 0.725, 0.425), expected, 1e-12);
        var image = run.Image();
        Assert.Equal(2, image.Batch);
        Colour.Near(expected, Colour.MeanOf(image, 0), 0.005, "image 0");
        Colour.Near(expected, Colour.MeanOf(image, 1), 0.005, "image 1");
    }

    [Fact]
    public async Task A_negative_without_tokens_gets_none_from_the_kinds_own_batching_rule()
    {
        var yaml = Workflow.Replace("negative: negative_colour.result", "negative: negative.conditioning", StringComparison.Ordinal);

        var run = (await _engine.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

        // u = gray: 0.5 + 1.5·((0.3, 0.6, 0.4) − 0.5) = (0.2, 0.65, 0.35).
        var expected = Colour.Guided(Gray, Mean(Green, PositiveToken), 1.5);
        Colour.Near(new Colour(0.2, 0.65, 0.35), expected, 1e-12);
        Colour.Near(expected, Colour.MeanOf(run.Image(), 1), 0.005);
    }

    [Fact]
    public async Task Guidance_scale_one_passes_the_positive_conditioning_and_its_tokens_to_every_image()
    {
        var run = (await _engine.RunYamlAsync(Workflow, new Dictionary<string, object?> { ["cfg"] = "1" })).AssertCompleted();

        var expected = Mean(Green, PositiveToken);
        Colour.Near(expected, Colour.MeanOf(run.Image(), 0), 0.005, "image 0");
        Colour.Near(expected, Colour.MeanOf(run.Image(), 1), 0.005, "image 1");
    }

    [Fact]
    public async Task The_sd_denoiser_ignores_a_kind_it_does_not_read()
    {
        var yaml = Workflow.Replace("denoiser: denoiser.wrapped", "denoiser: unet.denoiser", StringComparison.Ordinal);

        var run = (await _engine.RunYamlAsync(yaml, new Dictionary<string, object?> { ["cfg"] = "1" })).AssertCompleted();

        Colour.Near(Green, Colour.MeanOf(run.Image()), 0.005);
    }

    // The analytic text encoder's colour is the mean of the colour words' colours.
    private static Colour Mean(params Colour[] colours) =>
        new(colours.Average(c => c.R), colours.Average(c => c.G), colours.Average(c => c.B));

    public void Dispose() => _engine.Dispose();
}
