using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Inpainting (workflows/inpaint.yaml): the prompt's colour inside the mask, the input image outside it.</summary>
public sealed class InpaintTests
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
}
