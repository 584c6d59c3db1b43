using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>image.pad_for_outpaint against ComfyUI's mask formula, and workflows/outpaint.yaml on the analytic and shapes models.</summary>
public sealed class OutpaintTests
{
    [Fact]
    public async Task Pad_extends_by_edge_noise_or_grey_and_feathers_the_mask_as_comfyui()
    {
        var run = (await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: pad
            nodes:
              image: { node: image.load, with: { path: workflows/assets/landscape.png, width: 40, height: 32 } }
              edge: { node: image.pad_for_outpaint, in: { image: image.image }, with: { left: 8, top: 0, right: 16, bottom: 8, feathering: 6, fill: edge } }
              noise: { node: image.pad_for_outpaint, in: { image: image.image }, with: { left: 8, bottom: 8, fill: noise, seed: 5 } }
              noise_again: { node: image.pad_for_outpaint, in: { image: image.image }, with: { left: 8, bottom: 8, fill: noise, seed: 5, feathering: 0 } }
              grey: { node: image.pad_for_outpaint, in: { image: image.image }, with: { top: 8, fill: grey, feathering: 20 } }
            """, new Dictionary<string, object?>())).AssertCompleted();
        var source = run.Image("image", "image");
        var edge = run.Image("edge", "padded");
        Assert.Equal((64, 40), (edge.Width, edge.Height));
        float Source(int c, int y, int x) => source.Pixels[(c * 32 + y) * 40 + x];
        float Padded(Image image, int c, int y, int x) => image.Pixels[(c * image.Height + y) * image.Width + x];
        for (var c = 0; c < 3; c++)
        {
            Assert.Equal(Source(c, 5, 7), Padded(edge, c, 5, 15));    // inside: the image, moved by (left, top)
            Assert.Equal(Source(c, 5, 0), Padded(edge, c, 5, 0));     // left border: the first column stretched
            Assert.Equal(Source(c, 31, 39), Padded(edge, c, 39, 63)); // bottom-right corner: the corner pixel
            Assert.Equal(Source(c, 31, 10), Padded(edge, c, 35, 18)); // bottom border: the last row
        }

        // The mask, from ComfyUI's definition: 1 on the border; inside, ((f − d) / f)² at distance d < f from a padded
        // side, where top and left distances count from 0 and bottom and right ones from 1; unpadded sides do not count.
        var mask = Assert.IsType<Mask>(run.Result.Output("edge", "mask"));
        Assert.Equal((64, 40), (mask.Width, mask.Height));
        for (var y = 0; y < 40; y++)
        for (var x = 0; x < 64; x++)
        {
            int iy = y, ix = x - 8;
            var expected = 1.0;
            if (iy < 32 && ix >= 0 && ix < 40)
            {
                var d = Math.Min(32 - iy, Math.Min(ix, 40 - ix)); // bottom, left and right padded; top not
                expected = d < 6 ? Math.Pow((6.0 - d) / 6, 2) : 0;
            }
            Assert.True(Math.Abs(expected - mask.Values[y * 64 + x]) < 1e-6, $"mask at ({x}, {y}): {mask.Values[y * 64 + x]}, expected {expected}");
        }

        var noise = run.Image("noise", "padded");
        Assert.Equal(noise.ToArray(), run.Image("noise_again", "padded").ToArray()); // seeded
        var border = Enumerable.Range(0, 40).Select(y => Padded(noise, 0, y, 3)).ToArray();
        Assert.All(border, v => Assert.InRange(v, 0f, 1f));
        Assert.True(border.Distinct().Count() > 30, "noise fill should vary");
        Assert.All(Enumerable.Range(0, 40), x => Assert.Equal(0.5f, Padded(run.Image("grey", "padded"), 1, 3, x)));
        // feathering 20 is not below half the 32-pixel height: a hard edge, as ComfyUI.
        var greyMask = Assert.IsType<Mask>(run.Result.Output("grey", "mask"));
        Assert.Equal(0f, greyMask.Values[8 * 40 + 20]);
        Assert.Equal(1f, greyMask.Values[7 * 40 + 20]);
    }

    [Theory]
    [InlineData("pad: { node: image.pad_for_outpaint, in: { image: image.image }, with: { left: 4100, top: 4100, right: 4100, bottom: 4100 } }", "left/top/right/bottom")]
    [InlineData("resize: { node: image.resize, in: { image: image.image }, with: { width: 8208, height: 8208 } }", "width/height/scale_by")]
    [InlineData("resize: { node: latent.resize, in: { latent: latent.latent }, with: { width: 8208, height: 8208 } }", "width/height/scale_by")]
    public async Task Growing_an_image_past_the_pixel_limit_fails_the_node_before_allocating_naming_the_parameters_and_the_setting(string node, string parameters)
    {
        // 8208 a side: 67 M pixels, four times the default FlowDiffusion:MaxImagePixels (4096²).
        var run = await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: too-large
            nodes:
              image: { node: image.load, with: { path: workflows/assets/landscape.png, width: 8, height: 8 } }
              latent: { node: latent.empty, with: { width: 64, height: 64 } }
              {{node}}
            """, new Dictionary<string, object?>());

        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Contains(parameters, run.Result.Error);
        Assert.Contains("8208×8208", run.Result.Error);
        Assert.Contains("FlowDiffusion:MaxImagePixels", run.Result.Error);
    }

    [Fact]
    public async Task Outpaint_workflow_paints_the_prompt_in_the_new_border_and_keeps_the_image()
    {
        // The analytic model paints the prompt's colour where the mask is 1: 96×96 padded left and bottom by 32.
        var inputs = Inputs.Of("analytic-sd", "orange cyan")
            .With("image_width", "96").With("image_height", "96").With("left", "32").With("bottom", "32").With("feathering", "8");
        foreach (var unused in new[] { "karras", "batch", "width", "height" }) inputs.Remove(unused);
        var run = (await SdEngine.Shared.RunFileAsync("outpaint.yaml", inputs)).AssertCompleted();
        var image = run.Image();
        Assert.Equal((128, 128), (image.Width, image.Height));
        var mask = Assert.IsType<Mask>(run.Result.Output("pad", "mask"));
        Colour.Near(new Colour(0.5, 0.75, 0.5), Colour.MeanOf(image, where: Blocks.AwayFromEdge(mask, 1)), context: "new border");
        var kept = Blocks.MaxDifference(image, Blocks.Averaged(run.Image("pad", "padded")), Blocks.AwayFromEdge(mask, 0));
        Assert.True(kept < 0.02, $"inside the image, away from the feathering, it moved by {kept}");
    }

    [Fact]
    public async Task Shipped_outpaint_workflow_draws_on_shapes_sd()
    {
        var run = (await SdEngine.Shared.RunFileAsync("outpaint.yaml", new Dictionary<string, object?> { ["steps"] = "6" })).AssertCompleted();
        var image = run.Image();
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.All(image.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0 and <= 1));
        Assert.NotEqual(run.Image("pad", "padded").ToArray(), image.ToArray());
        Assert.NotEmpty(run.Result.OutputFiles);
    }
}
