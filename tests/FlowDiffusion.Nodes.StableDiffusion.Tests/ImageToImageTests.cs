namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>img2img (workflows/img2img.yaml) on analytic-sd.</summary>
public sealed class ImageToImageTests
{
    private static Dictionary<string, object?> Img2Img(double strength, int steps = 10, string scheduler = "euler", string prompt = "purple and yellow") =>
        Inputs.Of("analytic-sd", prompt, steps: steps, scheduler: scheduler)
            .With("image", "workflows/assets/landscape.png")
            .With("strength", strength.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Theory]
    [InlineData("euler")]
    [InlineData("ddim")]
    [InlineData("dpmpp_2m")]
    public async Task Strength_one_repaints_with_the_prompts_colour(string scheduler)
    {
        var run = (await SdEngine.Shared.RunFileAsync("img2img.yaml", Img2Img(1, scheduler: scheduler))).AssertCompleted();

        Assert.Equal(10, run.Steps().Count);
        Colour.Near(new Colour(0.75, 0.5, 0.25), Colour.MeanOf(run.Image()), context: scheduler);
    }

    [Fact]
    public async Task Strength_zero_returns_the_input_through_the_vae_without_denoising()
    {
        var run = (await SdEngine.Shared.RunFileAsync("img2img.yaml", Img2Img(0))).AssertCompleted();

        Assert.Empty(run.Steps());
        var input = run.Image("image", "image");
        var output = run.Image();
        Assert.Equal((64, 64), (output.Height, output.Width));
        Assert.True(Blocks.MaxDifference(output, Blocks.Averaged(input), (_, _) => true) < 1e-4);
    }

    [Theory]
    [InlineData(10, 0.5, 5)]
    [InlineData(10, 0.25, 3)] // rounds half away from zero: 2.5 steps run 3
    [InlineData(20, 0.33, 7)] // 6.6
    [InlineData(7, 1.0, 7)]
    [InlineData(10, 0.04, 0)]
    public async Task Runs_round_steps_times_strength_denoising_steps(int steps, double strength, int expected)
    {
        var run = (await SdEngine.Shared.RunFileAsync("img2img.yaml", Img2Img(strength, steps))).AssertCompleted();

        var progress = run.Steps();
        Assert.Equal(expected, progress.Count);
        Assert.All(progress, p => Assert.Equal(expected, p.TotalSteps));
        Assert.Equal(Enumerable.Range(1, expected), progress.Select(p => p.Step));
    }

    [Fact]
    public async Task Half_strength_lands_between_the_image_and_the_prompt()
    {
        var run = (await SdEngine.Shared.RunFileAsync("img2img.yaml", Img2Img(0.5, prompt: "red"))).AssertCompleted();

        // The analytic UNet always aims at the prompt's colour, so even a partial run ends on it exactly.
        Colour.Near(new Colour(1, 0, 0), Colour.MeanOf(run.Image()));
    }
}
