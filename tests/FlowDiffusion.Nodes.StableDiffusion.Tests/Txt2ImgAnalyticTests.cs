namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>txt2img on analytic-sd, whose UNet predicts exactly the noise leading to a solid image of the prompt's colour.</summary>
public sealed class Txt2ImgAnalyticTests
{
    public static TheoryData<string> Schedulers => new()
    {
        "ddim", "pndm", "lms", "euler", "euler_a", "heun", "dpmpp_2m", "dpm_single", "unipc", "deis", "kdpm2", "kdpm2_a", "ddpm", "lcm",
    };

    /// <summary>The schedulers diffusers offers Karras sigmas for (the others refuse the switch).</summary>
    public static TheoryData<string> KarrasSchedulers => new() { "lms", "euler", "heun", "dpmpp_2m", "dpm_single", "unipc", "deis", "kdpm2", "kdpm2_a" };

    // Colours stay off 0 and 1: DDIM, PNDM and DEIS stop at SD's smallest training sigma as diffusers does, leaving latent
    // noise of about 0.03 that the decoder's clamp would bias at a bound.
    [Theory]
    [MemberData(nameof(Schedulers))]
    public async Task Every_scheduler_draws_the_prompts_colour(string scheduler)
    {
        // purple (0.5, 0, 0.5) and yellow (1, 1, 0) average to (0.75, 0.5, 0.25).
        var run = (await SdEngine.Shared.RunFileAsync("txt2img.yaml", Inputs.Of("analytic-sd", "a purple and yellow kite", scheduler: scheduler))).AssertCompleted();

        Colour.Near(new Colour(0.75, 0.5, 0.25), Colour.MeanOf(run.Image()), context: scheduler);
    }

    [Theory]
    [MemberData(nameof(KarrasSchedulers))]
    public async Task Every_scheduler_with_karras_sigmas_draws_the_prompts_colour(string scheduler)
    {
        // orange and cyan average to (0.5, 0.75, 0.5).
        var run = (await SdEngine.Shared.RunFileAsync("txt2img.yaml", Inputs.Of("analytic-sd", "Orange and CYAN stripes", scheduler: scheduler, karras: true))).AssertCompleted();

        Colour.Near(new Colour(0.5, 0.75, 0.5), Colour.MeanOf(run.Image()), context: scheduler);
    }

    [Theory]
    [MemberData(nameof(Schedulers))]
    public async Task Every_scheduler_guides_to_negative_plus_scale_times_difference(string scheduler)
    {
        // green, gray, white and black average to c = (0.375, 0.625, 0.375); against u = gray at scale 1.5:
        // u + 1.5·(c − u) = (0.3125, 0.6875, 0.3125). Far enough from 0 and 1 that the decoder's clamp does not bias the
        // mean (see above), and apart from c itself (scale ignored) and from (0.5625, 0.4375, 0.5625) (halves swapped).
        var run = (await SdEngine.Shared.RunFileAsync("txt2img.yaml", Inputs.Of("analytic-sd", "green, gray, white and black", "gray", cfg: 1.5, scheduler: scheduler))).AssertCompleted();

        Colour.Near(new Colour(0.3125, 0.6875, 0.3125), Colour.MeanOf(run.Image()), context: scheduler);
    }

    [Theory]
    [InlineData("dpmpp_2m")]
    [InlineData("unipc")]
    public async Task Multistep_solvers_with_karras_sigmas_end_at_sigma_zero_so_a_colour_at_a_bound_is_exact(string scheduler)
    {
        // Ending at the smallest training sigma instead (0.029) left noise: red came out 0.974.
        var run = (await SdEngine.Shared.RunFileAsync("txt2img.yaml", Inputs.Of("analytic-sd", "a red ball", scheduler: scheduler, karras: true))).AssertCompleted();

        Colour.Near(new Colour(1, 0, 0), Colour.MeanOf(run.Image()), 0.002, scheduler);
    }

    [Fact]
    public async Task A_prompt_without_colour_words_draws_gray()
    {
        var run = (await SdEngine.Shared.RunFileAsync("txt2img.yaml", Inputs.Of("analytic-sd", "a quiet landscape"))).AssertCompleted();

        Colour.Near(Colour.Gray, Colour.MeanOf(run.Image()));
    }

    public static TheoryData<string, string, double, double, double, double> GuidanceCases => new()
    {
        // blue + 3·(red − blue) = (3, 0, −2), clamped to (1, 0, 0).
        { "red", "blue", 3, 1, 0, 0 },
        // gray negative, white-and-gray prompt (0.75 each): 0.5 + 1.5·0.25 = 0.875, inside [0, 1], no clamp.
        { "white gray", "gray", 1.5, 0.875, 0.875, 0.875 },
        // purple (0.5, 0, 0.5) vs gray at 2: (0.5, −0.5, 0.5) → G clamps to 0, R and B stay 0.5.
        { "purple", "grey", 2, 0.5, 0, 0.5 },
        // scale 0 is the negative prompt alone.
        { "red", "green", 0, 0, 1, 0 },
    };

    // Euler with Karras sigmas ends at sigma 0, so even colours at a bound come out exact.
    [Theory]
    [MemberData(nameof(GuidanceCases))]
    public async Task Guidance_gives_negative_plus_scale_times_difference_clamped(string prompt, string negative, double scale, double r, double g, double b)
    {
        var run = (await SdEngine.Shared.RunFileAsync("txt2img.yaml", Inputs.Of("analytic-sd", prompt, negative, cfg: scale, scheduler: "euler", karras: true))).AssertCompleted();

        Colour.Near(new Colour(r, g, b), Colour.MeanOf(run.Image()), context: $"{prompt} vs {negative} at {scale}");
    }
}
