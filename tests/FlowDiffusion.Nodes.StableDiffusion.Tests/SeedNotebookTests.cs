using System.Globalization;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>The seed notebooks' experiments (embedding-mix, guidance-sweep, denoise-steps) on analytic-sd, where each result is known.</summary>
public sealed class SeedNotebookTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.25)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public async Task Embedding_mix_lerps_the_two_prompts_colours_by_the_weight(double weight)
    {
        // The analytic encoder embeds a colour word as (r, g, b, 1) at its token, so lerping "red" and "blue" token by token gives (1 − w, 0, w).
        var inputs = Inputs.Of("analytic-sd", "red")
            .With("prompt2", "blue")
            .With("weight", weight.ToString(CultureInfo.InvariantCulture));
        var run = (await SdEngine.Shared.RunFileAsync("embedding-mix.yaml", inputs)).AssertCompleted();

        Colour.Near(new Colour(1 - weight, 0, weight), Colour.MeanOf(run.Image()), context: $"weight {weight}");
    }

    [Fact]
    public async Task Guidance_sweep_lays_out_one_image_per_scale_left_to_right()
    {
        double[] scales = [0, 0.5, 1, 2];
        var inputs = Inputs.Of("analytic-sd", "orange", "gray");
        inputs.Remove("cfg");
        for (var i = 0; i < scales.Length; i++) inputs[$"cfg{i + 1}"] = scales[i].ToString(CultureInfo.InvariantCulture);

        var run = (await SdEngine.Shared.RunFileAsync("guidance-sweep.yaml", inputs)).AssertCompleted();

        var grid = Assert.IsType<Image>(run.Result.Output("grid", "grid"));
        const int cell = 64, gap = 4;
        Assert.Equal((cell, 4 * cell + 3 * gap), (grid.Height, grid.Width));
        for (var i = 0; i < scales.Length; i++)
        {
            var left = i * (cell + gap);
            var expected = Colour.Guided(Colour.Gray, new Colour(1, 0.5, 0), scales[i]);
            Colour.Near(expected, Colour.MeanOf(grid, where: (_, x) => x >= left && x < left + cell), context: $"cfg {scales[i]}");
        }
    }

    [Fact]
    public async Task Denoise_steps_saves_a_strip_of_previews_ending_in_the_result()
    {
        var inputs = Inputs.Of("analytic-sd", "purple and yellow", steps: 6).With("every", "2");

        var run = (await SdEngine.Shared.RunFileAsync("denoise-steps.yaml", inputs)).AssertCompleted();

        // Previews after steps 2 and 4, then the final result: three frames.
        Assert.Equal(2, run.Events.OfType<NodePreviewed>().Count(e => e.NodeId == "sample"));
        var strip = Assert.IsType<Image>(run.Result.Output("strip", "grid"));
        const int cell = 64, gap = 4;
        Assert.Equal((cell, 3 * cell + 2 * gap), (strip.Height, strip.Width));
        Colour.Near(new Colour(0.75, 0.5, 0.25), Colour.MeanOf(strip, where: (_, x) => x >= 2 * (cell + gap)));
        Assert.Single(run.Result.OutputFiles);
    }

    public static TheoryData<string, string, string, double, double, double, double, double> MixModes => new()
    {
        // Colour words embed as (r, g, b, 1); the colour is Σrgb / Σ1, so add weighs b by the weight:
        // (1, 0, 0, 1) + 0.5·(0, 0, 1, 1) = (1, 0, 0.5, 1.5) → (2/3, 0, 1/3).
        { "add", "red", "blue", 0.5, 1, 2.0 / 3, 0, 1.0 / 3 },
        { "average", "red", "blue", 0.9, 1, 0.5, 0, 0.5 },
        // concat keeps every token of both: red, blue and green → (1/3, 1/3, 1/3); 154 tokens against a 77-token negative.
        { "concat", "red", "blue green", 0, 1, 1.0 / 3, 1.0 / 3, 1.0 / 3 },
        // and with guidance against gray: 0.5 + 1.5·(1/3 − 1/2) = 0.25.
        { "concat", "red", "blue green", 0, 1.5, 0.25, 0.25, 0.25 },
    };

    [Theory]
    [MemberData(nameof(MixModes))]
    public async Task Conditioning_mix_modes_combine_the_prompts_as_documented(string mode, string prompt, string prompt2, double weight, double cfg, double r, double g, double b)
    {
        var yaml = (await File.ReadAllTextAsync(RepositoryRoot.Workflow("embedding-mix.yaml"))).ReplaceLineEndings("\n");
        var mixed = yaml.Replace("mode: lerp", $"mode: {mode}", StringComparison.Ordinal);
        Assert.NotEqual(yaml, mixed);
        var inputs = Inputs.Of("analytic-sd", prompt, cfg > 1 ? "gray" : "", cfg: cfg)
            .With("prompt2", prompt2)
            .With("weight", weight.ToString(CultureInfo.InvariantCulture));

        var run = (await SdEngine.Shared.RunYamlAsync(mixed, inputs)).AssertCompleted();

        Colour.Near(new Colour(r, g, b), Colour.MeanOf(run.Image()), context: mode);
    }

    [Fact]
    public async Task Predicted_x0_previews_show_the_final_image_from_the_first_step()
    {
        // The analytic UNet predicts the exact noise, so its estimate of the final image is right at every step.
        var yaml = (await File.ReadAllTextAsync(RepositoryRoot.Workflow("denoise-steps.yaml"))).ReplaceLineEndings("\n");
        var x0 = yaml.Replace("preview_every: $every", "preview_every: $every\n      preview: predicted_x0", StringComparison.Ordinal);
        Assert.NotEqual(yaml, x0);
        var inputs = Inputs.Of("analytic-sd", "purple and yellow", steps: 6, scheduler: "ddim").With("every", "1");

        var run = (await SdEngine.Shared.RunYamlAsync(x0, inputs)).AssertCompleted();

        var previews = run.Events.OfType<NodePreviewed>().Where(e => e.NodeId == "sample").Select(e => e.Preview).ToList();
        Assert.Equal(5, previews.Count);
        Assert.All(previews, p => Colour.Near(new Colour(0.75, 0.5, 0.25), Colour.MeanOf(p)));
        // Decoded by the VAE the workflow connects to the sampler: image size.
        Assert.All(previews, p => Assert.Equal((1, 64, 64), (p.Batch, p.Height, p.Width)));
    }
}
