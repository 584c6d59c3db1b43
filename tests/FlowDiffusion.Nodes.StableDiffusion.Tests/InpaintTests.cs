using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Inpainting (workflows/inpaint.yaml): the prompt's colour inside the mask, the input image outside it.</summary>
public sealed class InpaintTests : IDisposable
{
    public static TheoryData<string, string> Cases => new()
    {
        { "analytic-sd", "euler" },          // 4-channel UNet: known latents re-imposed every step
        { "analytic-sd", "dpmpp_2m" },
        { "analytic-sd", "ddim" },
        { "analytic-sd-inpaint", "euler" },  // 9-channel inpainting UNet: mask and masked-image latents as extra channels
        { "analytic-sd-inpaint", "dpmpp_2m" },
        { "analytic-sd-inpaint", "unipc" },
        { "analytic-sd-inpaint", "kdpm2_a" },
        // Not DDIM with the 9-channel model: it stops at SD's smallest training sigma, as diffusers does, and nothing
        // re-imposes the known region, so about 0.08 of per-pixel noise stays outside the mask.
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Paints_the_prompts_colour_inside_the_mask_and_keeps_the_image_outside(string model, string scheduler)
    {
        // 128×128 so the mask's square (a quarter to three quarters of each side) has inner blocks away from its edge.
        var inputs = Inputs.Of(model, "orange cyan", scheduler: scheduler, size: 128)
            .With("image", "workflows/assets/landscape.png")
            .With("mask", "workflows/assets/mask.png");
        var run = (await SdEngine.Shared.RunFileAsync("inpaint.yaml", inputs)).AssertCompleted();

        var image = run.Image();
        var mask = Assert.IsType<Mask>(run.Result.Output("mask", "mask"));
        var input = run.Image("image", "image");
        Colour.Near(new Colour(0.5, 0.75, 0.5), Colour.MeanOf(image, where: Blocks.AwayFromEdge(mask, 1)), context: "inside");
        var outside = Blocks.MaxDifference(image, Blocks.Averaged(input), Blocks.AwayFromEdge(mask, 0));
        Assert.True(outside < 0.02, $"outside the mask the image moved by {outside}");
    }

    [Fact]
    public async Task Inpainting_unet_gets_the_mask_as_diffusers_feeds_it_binarised_and_sampled_at_each_blocks_top_left_pixel()
    {
        // White only at the top-left pixel of every 8×8 block: diffusers' nearest resize makes every latent pixel 1, so
        // the analytic 9-channel UNet paints the prompt's colour everywhere; an 8×8 average (1/64) or a sample from the
        // block's centre (0) would keep the input image.
        using var scratch = new TempFolder();
        var dots = Path.Combine(scratch.Path, "dots.png");
        TestPng.WriteGray(dots, 128, 128, (x, y) => x % 8 == 0 && y % 8 == 0 ? (byte)255 : (byte)0);
        var inputs = Inputs.Of("analytic-sd-inpaint", "orange cyan", scheduler: "euler", size: 128)
            .With("image", "workflows/assets/landscape.png")
            .With("mask", dots);

        var run = (await SdEngine.Shared.RunFileAsync("inpaint.yaml", inputs)).AssertCompleted();

        Colour.Near(new Colour(0.5, 0.75, 0.5), Colour.MeanOf(run.Image()), context: "whole image");
        // Keeping the input image would fail: its colour is far from the prompt's.
        Assert.True(Colour.MeanOf(run.Image("image", "image")).Distance(new Colour(0.5, 0.75, 0.5)) > 0.1);
    }

    [Fact]
    public async Task Latent_blend_mask_is_resized_as_diffusers_does_by_default_nearest_after_binarising()
    {
        // The 4-channel analytic UNet with the dots mask: nearest makes every latent pixel 1, so the prompt's colour fills
        // the image (an 8×8 average would keep 63/64 of the input).
        var run = (await SdEngine.Shared.RunFileAsync("inpaint.yaml", await DotsInputsAsync("analytic-sd"))).AssertCompleted();

        Colour.Near(new Colour(0.5, 0.75, 0.5), Colour.MeanOf(run.Image()), 0.005, "whole image");
    }

    [Fact]
    public async Task Area_mask_resize_blends_each_latent_pixel_by_its_blocks_mean()
    {
        // Area: m = 1/64 per latent pixel. Euler ends at sigma 0, where the exact UNet's prediction is the prompt's latent
        // whatever the state, and the last blend keeps the input's latents: m·prompt + (1 − m)·input, which the linear
        // VAE decodes to the same mix of colours (block-averaged input; the mean is the input's mean).
        var yaml = File.ReadAllText(RepositoryRoot.Workflow("inpaint.yaml")).Replace(
            "      masked_latent: prepare.masked_latent\n", "      masked_latent: prepare.masked_latent\n    with:\n      mask_resize: area\n", StringComparison.Ordinal);
        Assert.Contains("mask_resize: area", yaml, StringComparison.Ordinal);

        var run = (await SdEngine.Shared.RunYamlAsync(yaml, await DotsInputsAsync("analytic-sd"))).AssertCompleted();

        var input = Colour.MeanOf(run.Image("image", "image"));
        var prompt = new Colour(0.5, 0.75, 0.5);
        const double m = 1.0 / 64;
        var expected = new Colour(m * prompt.R + (1 - m) * input.R, m * prompt.G + (1 - m) * input.G, m * prompt.B + (1 - m) * input.B);
        Colour.Near(expected, Colour.MeanOf(run.Image()), 0.002, "whole image");
        Assert.True(input.Distance(prompt) > 0.1, "the input's colour must differ from the prompt's for this test to mean anything");
    }

    private readonly TempFolder _scratch = new();

    // White only at the top-left pixel of every 8×8 block, 128×128.
    private Task<Dictionary<string, object?>> DotsInputsAsync(string model)
    {
        var dots = Path.Combine(_scratch.Path, "dots.png");
        if (!File.Exists(dots)) TestPng.WriteGray(dots, 128, 128, (x, y) => x % 8 == 0 && y % 8 == 0 ? (byte)255 : (byte)0);
        return Task.FromResult(Inputs.Of(model, "orange cyan", scheduler: "euler", size: 128)
            .With("image", "workflows/assets/landscape.png")
            .With("mask", dots));
    }

    public void Dispose() => _scratch.Dispose();
}
