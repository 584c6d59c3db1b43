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
    private static Task<float[]> FirstStepAsync(string sampler) => AnalyticFirstStep.LatentsAsync(sampler,
        $"sigmas: \"{Sigma0.ToString(CultureInfo.InvariantCulture)}, {Sigma1.ToString(CultureInfo.InvariantCulture)}, 0.5, 0\"", Seed, "a green field");
}
