using System.Globalization;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Noise;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// diffusion.ksampler's ancestral step noise comes from a second generator seeded with seed + 1, as ComfyUI draws it on
/// the CPU, not from one seeded with the seed, whose first draw would repeat the starting noise. On analytic-sd the
/// model's x0 is the prompt's colour whatever the input, so the noise a step adds can be read back from the latents.
/// </summary>
public sealed class KSamplerNoiseTests
{
    private const ulong Seed = 7;
    private const float Sigma0 = 14.614642f, Sigma1 = 1.5f;

    [Fact]
    public async Task Lcm_adds_the_seed_plus_one_stream_not_the_starting_noise()
    {
        // One LCM step: x1 = x0(colour) + σ1·n, so the latents less their channel means are σ1·n.
        var latents = await FirstStepAsync("lcm");

        AssertNoiseIsTheSecondStream(latents);
    }

    [Fact]
    public async Task Euler_ancestral_adds_the_seed_plus_one_stream_not_the_starting_noise()
    {
        // Euler: x1 = T + (x − T)·σ1/σ0; ancestral: x1 = T + (x − T)·σ_down/σ0 + σ_up·n. So ancestral − σ_down/σ1 · euler
        // = T·(1 − σ_down/σ1) + σ_up·n: a constant per channel plus the step noise.
        var euler = await FirstStepAsync("euler");
        var ancestral = await FirstStepAsync("euler_ancestral");
        var (down, _) = KSamplers.AncestralStep(Sigma0, Sigma1);

        AssertNoiseIsTheSecondStream(ancestral.Select((v, i) => (float)(v - down / Sigma1 * euler[i])).ToArray());
    }

    [Fact]
    public async Task Eta_and_s_noise_set_how_far_euler_ancestral_steps_and_how_much_noise_it_adds()
    {
        // With η and s_noise the step goes to σ_down(η) and adds s_noise·σ_up(η)·n, so the residual above is that noise.
        const double eta = 0.5, sNoise = 0.6;
        var euler = await FirstStepAsync("euler");
        var ancestral = await FirstStepAsync("euler_ancestral", "eta: 0.5, s_noise: 0.6");
        var (down, up) = KSamplers.AncestralStep(Sigma0, Sigma1, eta);
        var residual = ancestral.Select((v, i) => (float)(v - down / Sigma1 * euler[i])).ToArray();
        var step = new float[residual.Length];
        new TorchGenerator(Seed + 1).FillStandardNormal(step);

        AssertNoiseIsTheSecondStream(residual);
        var scale = Math.Sqrt(NoiseCorrelation.Centred(residual).Sum(v => v * v) / NoiseCorrelation.Centred(step).Sum(v => v * v));
        Assert.True(Math.Abs(scale - sNoise * up) <= 1e-3 * sNoise * up, $"step noise {scale:R}, want s_noise·σ_up = {sNoise * up:R}");
        // At η = 1 the step would add more: the setting reached the sampler.
        Assert.True(KSamplers.AncestralStep(Sigma0, Sigma1).Up > 1.4 * up);
    }

    private static void AssertNoiseIsTheSecondStream(float[] latents)
    {
        var starting = new float[latents.Length];
        new TorchGenerator(Seed).FillStandardNormal(starting);
        var step = new float[latents.Length];
        new TorchGenerator(Seed + 1).FillStandardNormal(step);
        var residual = NoiseCorrelation.Centred(latents);

        Assert.True(NoiseCorrelation.Of(residual, NoiseCorrelation.Centred(step)) > 0.9999, $"correlation with seed + 1's stream {NoiseCorrelation.Of(residual, NoiseCorrelation.Centred(step)):F5}");
        Assert.True(Math.Abs(NoiseCorrelation.Of(residual, NoiseCorrelation.Centred(starting))) < 0.3, $"correlation with the starting noise {NoiseCorrelation.Of(residual, NoiseCorrelation.Centred(starting)):F5}");
    }

    // Explicit sigmas: the first step goes from sigma_max to 1.5.
    private static Task<float[]> FirstStepAsync(string sampler, string? settings = null) => AnalyticFirstStep.LatentsAsync(sampler,
        $"sigmas: \"{Sigma0.ToString(CultureInfo.InvariantCulture)}, {Sigma1.ToString(CultureInfo.InvariantCulture)}, 0.5, 0\"" + (settings is null ? "" : ", " + settings),
        Seed, "a green field");
}
