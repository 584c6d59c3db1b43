using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Sdk.Diffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.KDiffusion;

public sealed class KSamplerTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in ComfyReference.Data.GetProperty("samplers").EnumerateArray())
            data.Add(c.GetProperty("sampler").GetString()!, c.GetProperty("scheduler").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Sampler_matches_k_diffusion_definition_on_a_toy_denoiser(string sampler, string scheduler)
    {
        var c = ComfyReference.Data.GetProperty("samplers").EnumerateArray()
            .First(e => e.GetProperty("sampler").GetString() == sampler && e.GetProperty("scheduler").GetString() == scheduler);
        var x = ComfyReference.Floats(c.GetProperty("x"));
        var sigmas = ComfyReference.Floats(c.GetProperty("sigmas"));
        var want = ComfyReference.Floats(c.GetProperty("result"));
        var calls = 0;
        var steps = new List<int>();
        var got = await KSamplers.SampleAsync(sampler, x, sigmas, (latents, sigma, _) =>
        {
            calls++;
            return ValueTask.FromResult(latents.Select(v => (float)(v / (1 + (double)sigma * sigma) + 0.1 * sigma / (1 + sigma))).ToArray());
        }, new SineNoise(), (step, total, _) =>
        {
            steps.Add(step);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 2e-5 * Math.Max(1, Math.Abs(want[i])), $"{sampler}/{scheduler}: x[{i}] {got[i]:R} vs {want[i]:R}");
        Assert.Equal(Enumerable.Range(1, sigmas.Length - 1), steps);
        var twoEvaluations = sampler is "heun" or "heunpp2" or "dpm_2" or "dpm_2_ancestral" or "dpmpp_sde" or "dpmpp_2s_ancestral" or "seeds_2" or "seeds_3";
        Assert.True(twoEvaluations ? calls > steps.Count : calls == steps.Count, $"{sampler}: {calls} model calls for {steps.Count} steps");
    }

    [Theory]
    [InlineData("sa_solver", "does not implement yet")]
    [InlineData("res_multistep_cfg_pp", "does not implement yet")]
    [InlineData("nonsense", "unknown sampler_name 'nonsense'")]
    public async Task Unsupported_sampler_is_an_error_naming_it(string name, string message)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => KSamplers.SampleAsync(name, [1f], [1f, 0f],
            (x, _, _) => ValueTask.FromResult(x), null, null, CancellationToken.None));
        Assert.Contains(message, error.Message);
    }

    /// <summary>Element e of draw k is sin(1 + 0.37 e + 1.7 k), as the reference script draws it.</summary>
    private sealed class SineNoise : INoiseSource
    {
        private int draw;

        public void FillStandardNormal(Span<float> destination)
        {
            for (var e = 0; e < destination.Length; e++) destination[e] = (float)Math.Sin(1 + 0.37 * e + 1.7 * draw);
            draw++;
        }
    }
}
