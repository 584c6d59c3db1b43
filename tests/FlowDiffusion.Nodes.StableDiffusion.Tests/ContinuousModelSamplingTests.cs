using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// model.sampling_continuous on analytic-sd, whose UNet returns ε = s/√(1 − ᾱ(t)) for a colourless prompt (x0 = 0), with
/// ᾱ(t) read from SD's training sigma at the fractional timestep it is fed. One euler step from sigma_max without added
/// noise lands on the x0 estimate c_skip·x + c_out·ε(c_in·x, t(σ)), a fixed multiple of the starting latents: so the
/// continuous timestep, c_in, c_skip, c_out and the schedule's sigma_max all show in that multiple.
/// </summary>
public sealed class ContinuousModelSamplingTests
{
    [Theory]
    [InlineData("edm", "epsilon", 20.0)]
    [InlineData("edm", "v_prediction", 50.0)]
    [InlineData("edm", "edm", 80.0)]
    [InlineData("v", "v_prediction", 500.0)]
    [InlineData("v", "epsilon", 3.0)]
    public async Task One_euler_step_gives_ComfyUIs_denoised_estimate_for_the_continuous_timestep(string schedule, string prediction, double sigmaMax)
    {
        var run = (await SdEngine.Shared.RunYamlAsync(Graph(schedule, prediction, sigmaMax, "0.002"), new Dictionary<string, object?>())).AssertCompleted();
        var start = Assert.IsType<Latent>(run.Result.Output("start", "noise")).ToArray();
        var result = run.Latent().ToArray();

        var sampling = schedule == "v" ? ContinuousModelSampling.V(0.002, sigmaMax) : ContinuousModelSampling.Edm(0.002, sigmaMax);
        double sigma = SigmaSchedules.Compute("karras", sampling, 1)[0];
        Assert.True(Math.Abs(sigma - sigmaMax) < 1e-4 * sigmaMax, $"the one-step karras schedule starts at sigma_max: {sigma}");
        var factor = Factor(schedule, prediction, sigma);
        var worst = start.Zip(result, (x, y) => Math.Abs(y - factor * x)).Max();
        Assert.True(worst <= 1e-4 * start.Max(x => Math.Abs(factor * x)), $"{schedule}/{prediction} at sigma {sigma}: factor {factor:G6}, worst difference {worst:G4}");
    }

    [Fact]
    public async Task A_sigma_range_that_is_not_positive_and_increasing_is_a_node_error()
    {
        var result = await SdEngine.Shared.RunYamlAsync(Graph("edm", "epsilon", 10, "10"), new Dictionary<string, object?>());

        Assert.Equal("sampling", result.Result.FailedNode);
        Assert.Contains("0 < sigma_min < sigma_max", result.Result.Error);
    }

    // x0 / x for x0 = 0: c_skip + c_out · c_in / √(1 − ᾱ′), ᾱ′ = 1/(1 + σ′²), σ′ SD's training sigma at t(σ), as the UNet reads it.
    private static double Factor(string schedule, string prediction, double sigma)
    {
        var sigmaData = prediction == "edm" ? 0.5 : 1.0;
        var t = schedule == "v" ? Math.Atan(sigma) * 2 / Math.PI : 0.25 * Math.Log(sigma);
        var training = DiscreteModelSampling.For(new SchedulerConfig()).Sigmas;
        var clamped = Math.Clamp(t, 0, 999);
        var low = (int)Math.Floor(clamped);
        var read = training[low] + (clamped - low) * (training[Math.Min(low + 1, 999)] - training[low]);
        var epsilonPerInput = 1 / Math.Sqrt(1 - 1 / (1 + read * read));
        var cIn = 1 / Math.Sqrt(sigma * sigma + sigmaData * sigmaData);
        var (cSkip, cOut) = prediction switch
        {
            "epsilon" => (1.0, -sigma),
            "v_prediction" => (sigmaData * sigmaData / (sigma * sigma + sigmaData * sigmaData), -sigma * sigmaData / Math.Sqrt(sigma * sigma + sigmaData * sigmaData)),
            _ => (sigmaData * sigmaData / (sigma * sigma + sigmaData * sigmaData), sigma * sigmaData / Math.Sqrt(sigma * sigma + sigmaData * sigmaData)),
        };
        return cSkip + cOut * cIn * epsilonPerInput;
    }

    private static string Graph(string schedule, string prediction, double sigmaMax, string sigmaMin) => $$"""
        flowdiffusion: 1
        name: continuous-sampling
        nodes:
          model: { node: model.load, with: { path: models/analytic-sd } }
          tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a house } }
          positive: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens } }
          denoiser: { node: unet.denoiser, in: { unet: model.unet } }
          guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: positive.conditioning, negative: positive.conditioning }, with: { scale: 1 } }
          sampling: { node: model.sampling_continuous, in: { config: model.scheduler_config }, with: { schedule: {{schedule}}, prediction_type: {{prediction}}, sigma_max: {{sigmaMax.ToString(System.Globalization.CultureInfo.InvariantCulture)}}, sigma_min: {{sigmaMin}} } }
          start: { node: latent.noise, with: { seed: 5, width: 64, height: 64 } }
          sample: { node: diffusion.ksampler, in: { guider: guider.guider, config: sampling.result, latent_image: start.noise }, with: { seed: 1, sampler: euler, scheduler: karras, steps: 1, add_noise: false } }
        """;
}
