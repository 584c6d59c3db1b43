using System.Text.Json;
using FlowDiffusion.Diffusion.KDiffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.KDiffusion;

// Rising sigmas (FlipSigmas, unsampling): the samplers that walk them against tools/comfy/sigma_reference.py's "rising"
// section, the others refused with a message naming the sampler.
public sealed partial class KSamplerTests
{
    public static TheoryData<int> RisingCases() => new(Enumerable.Range(0, ComfyReference.Data.GetProperty("rising").GetProperty("samplers").GetArrayLength()));

    [Theory]
    [MemberData(nameof(RisingCases))]
    public async Task Sampler_walks_flipped_sigmas_as_ComfyUI_on_a_toy_denoiser(int index)
    {
        var c = ComfyReference.Data.GetProperty("rising").GetProperty("samplers")[index];
        var sampler = c.GetProperty("sampler").GetString()!;
        var given = c.GetProperty("parameters");
        double Setting(string name, double fallback) => given.TryGetProperty(name, out var value) ? value.GetDouble() : fallback;
        var adaptive = sampler == "dpm_adaptive";
        var parameters = KSamplerParameters.Default with
        {
            Eta = Setting("eta", 1), SNoise = Setting("s_noise", 1), Order = adaptive ? 4 : (int)Setting("order", 4), AdaptiveOrder = adaptive ? (int)Setting("order", 3) : 3,
            Rtol = Setting("rtol", 0.05), Atol = Setting("atol", 0.0078),
        };
        var x = ComfyReference.Floats(c.GetProperty("x"));
        var sigmas = ComfyReference.Floats(c.GetProperty("sigmas"));
        var want = ComfyReference.Floats(c.GetProperty("result"));
        Assert.True(RisingSigmas.Are(sigmas));
        Assert.Null(RisingSigmas.CheckOrder(sigmas));
        var got = c.TryGetProperty("cfg_pp", out _)
            ? await CfgPlusPlus.SampleAsync(sampler, x, sigmas, (latents, sigma, _) => ToyGuided(latents, sigma, c.GetProperty("scale").GetDouble()), new SineNoise(), null,
                CancellationToken.None, parameters)
            : await KSamplers.SampleAsync(sampler, x, sigmas, Toy, new SineNoise(), null, CancellationToken.None, parameters: parameters, modelSampling: ComfyReference.Sd15);
        var what = $"{sampler} {given}/{c.GetProperty("scheduler").GetString()}";
        // 2e-4 relative: walked upwards the ODE grows the latents (0.8 to 20 here) and with them the float32 rounding of the
        // latents and derivatives kept here (the reference is float64); lms and ipndm_v's history weights amplify it most.
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 2e-4 * Math.Max(1, Math.Abs(want[i])), $"{what}: x[{i}] {got[i]:R} vs {want[i]:R}");
        // Unsampling moves the latents: the result is not the starting point (a sampler that stopped at once would be).
        Assert.True(got.Zip(x).Max(p => Math.Abs(p.First - p.Second)) > 0.1, $"{what}: the latents did not move");
    }

    [Theory]
    [InlineData("euler_ancestral", 1.0, 1.0, "eta")]
    [InlineData("dpm_2_ancestral", 0.5, 0.0, "eta")]
    [InlineData("dpmpp_2s_ancestral", 1.0, 1.0, "eta")]
    [InlineData("dpmpp_sde", 1.0, 1.0, "eta")]
    [InlineData("dpmpp_2m_sde", 1.0, 1.0, "s_noise")]
    [InlineData("dpmpp_3m_sde_gpu", 0.3, 0.5, "s_noise")]
    [InlineData("sa_solver", 1.0, 1.0, "s_noise")]
    [InlineData("res_multistep_ancestral", 1.0, 1.0, "res_multistep")]
    [InlineData("seeds_2", 1.0, 1.0, "euler")]
    [InlineData("ddpm", 1.0, 1.0, "negative")]
    [InlineData("heunpp2", 1.0, 1.0, "heun")]
    public async Task Samplers_undefined_on_rising_sigmas_are_refused_naming_the_sampler(string sampler, double eta, double sNoise, string hint)
    {
        float[] sigmas = [0.0001f, 0.5f, 2f, 14.6f];
        var parameters = KSamplerParameters.Default with { Eta = eta, SNoise = sNoise };
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            KSamplers.SampleAsync(sampler, [0.3f, -0.2f], sigmas, Toy, new SineNoise(), null, CancellationToken.None, parameters: parameters, modelSampling: ComfyReference.Sd15));
        Assert.Contains($"'{sampler}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("rising sigmas", error.Message, StringComparison.Ordinal);
        Assert.Contains(hint, error.Message, StringComparison.Ordinal);
        // The same sampler walks the falling sigmas as before.
        await KSamplers.SampleAsync(sampler, [0.3f, -0.2f], [14.6f, 2f, 0.5f, 0f], Toy, new SineNoise(), null, CancellationToken.None, parameters: parameters,
            modelSampling: ComfyReference.Sd15);
    }

    [Theory]
    [InlineData("euler_ancestral_cfg_pp")]
    [InlineData("dpmpp_2s_ancestral_cfg_pp")]
    [InlineData("res_multistep_ancestral_cfg_pp")]
    public async Task Ancestral_cfg_plus_plus_samplers_refuse_rising_sigmas(string sampler)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => CfgPlusPlus.SampleAsync(sampler, [0.3f], [0.0001f, 1f, 5f], (l, s, _) => ToyGuided(l, s, 2),
            new SineNoise(), null, CancellationToken.None));
        Assert.Contains("rising sigmas", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dpm_solver_with_noise_refuses_rising_sigmas_as_ComfyUI()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => KSamplers.SampleAsync("dpm_fast", [0.3f], [0.0001f, 1f, 5f], Toy, new SineNoise(), null,
            CancellationToken.None, parameters: KSamplerParameters.Default with { DpmEta = 0.5 }));
        Assert.Contains("dpm_eta", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Flip_reverses_and_lifts_a_first_zero_as_ComfyUI()
    {
        foreach (var c in ComfyReference.Data.GetProperty("rising").GetProperty("flip").EnumerateArray())
        {
            var sigmas = ComfyReference.Floats(c.GetProperty("sigmas"));
            Assert.Equal(ComfyReference.Floats(c.GetProperty("flipped")), SigmaEdits.Flip(sigmas));
            Assert.Equal(SigmaEdits.Flip(sigmas), SigmaEdits.Apply(sigmas, "flip"));
        }

        // Flipped twice, the end is 0.0001: ComfyUI's second flip leaves it there too.
        Assert.Equal([14.6f, 1f, 0.0001f], SigmaEdits.Apply([14.6f, 1f, 0f], "flip; flip"));
    }

    [Theory]
    [InlineData(new[] { 14.6f, 3f, 0f }, null)]
    [InlineData(new[] { 0.0001f, 3f, 14.6f }, null)]
    [InlineData(new[] { 0f, 3f, 14.6f }, "start at 0")]
    [InlineData(new[] { 14.6f, 3f, 3f }, "not below")]
    [InlineData(new[] { 1f, 3f, 2f }, "not above")]
    [InlineData(new[] { 3f, -1f }, "not a non-negative")]
    public void Sigma_order_must_be_strictly_falling_or_strictly_rising_from_above_zero(float[] sigmas, string? problem)
    {
        var error = RisingSigmas.CheckOrder(sigmas);
        if (problem is null) Assert.Null(error);
        else Assert.Contains(problem, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Set_first_sigma_keeps_a_rising_schedule_rising()
    {
        Assert.Equal([0.01f, 1f, 14.6f], SigmaEdits.Apply([14.6f, 1f, 0f], "flip; first 0.01"));
        var error = Assert.Throws<ArgumentException>(() => SigmaEdits.Apply([14.6f, 1f, 0f], "flip; first 5"));
        Assert.Contains("first sigma 5", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<int> ExtendCases() => new(Enumerable.Range(0, ComfyReference.Data.GetProperty("extend_intermediate").GetArrayLength()));

    [Theory]
    [MemberData(nameof(ExtendCases))]
    public void Extend_intermediate_sigmas_matches_ComfyUI(int index)
    {
        var c = ComfyReference.Data.GetProperty("extend_intermediate")[index];
        var sigmas = ComfyReference.Floats(c.GetProperty("sigmas"));
        var want = ComfyReference.Floats(c.GetProperty("extended"));
        var (steps, start, end, spacing) = (c.GetProperty("steps").GetInt32(), c.GetProperty("start_at_sigma").GetDouble(), c.GetProperty("end_at_sigma").GetDouble(),
            c.GetProperty("spacing").GetString()!);
        var got = SigmaEdits.Extend(sigmas, steps, start, end, spacing);
        Assert.Equal(want.Length, got.Length);
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 1e-6 * Math.Max(1, Math.Abs(want[i])), $"{spacing} {steps} [{start}, {end}]: sigma {i} {got[i]:R} vs {want[i]:R}");
        Assert.Equal(got, SigmaEdits.Apply(sigmas, $"extend {steps} {start:R} {end:R} {spacing}"));
    }

    [Fact]
    public void Extend_intermediate_sigmas_is_bounded()
    {
        var sigmas = Enumerable.Range(0, 200).Select(i => 200f - i).ToArray();
        var error = Assert.Throws<ArgumentException>(() => SigmaEdits.Extend(sigmas, 100, -1, 0, "linear"));
        Assert.Contains("at most 10001", error.Message, StringComparison.Ordinal);
    }
}
