using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// latent.add_noise (ComfyUI's AddNoise): latent + torch.randn(shape, generator=manual_seed(seed)) · |σ₀ − σ_last|. The
/// expected values are torch's (printed by /usr/bin/python3 with torch, as tools/comfy/sigma_reference.py's add_noise
/// section draws them), so the noise, its order and the scale are checked to float32.
/// </summary>
public sealed class LatentAddNoiseTests
{
    // torch.randn((1, 4, 2, 3), generator=torch.manual_seed(42)) · 3.
    private static readonly float[] Seed42TimesThree =
    [
        5.780745983123779f, 4.461852073669434f, 2.7021515369415283f, -6.316562652587891f, 2.0352554321289062f, -3.703634738922119f,
        -0.12920242547988892f, -4.814001083374023f, 1.067579746246338f, -2.059868812561035f, -1.4800690412521362f, 0.7244633436203003f,
        -3.332711696624756f, 0.27463698387145996f, -6.950767993927002f, -0.6504141688346863f, -0.9291803240776062f, -1.1871315240859985f,
        2.4102280139923096f, -1.864786148071289f, -1.7760016918182373f, -0.18922314047813416f, -2.4856629371643066f, 0.9926953315734863f,
    ];

    [Theory]
    [InlineData("3.5, 1.25, 0.5", 1.0)] // |3.5 − 0.5| = 3
    [InlineData("0.0001, 2, 7.5", 7.499899864196777 / 3)] // rising (FlipSigmas): |0.0001 − 7.5| in float32
    [InlineData("3", 1.0)] // one sigma: σ₀ itself
    [InlineData("0, 0", 0.0)] // all zero: the latents unchanged
    public async Task Noise_is_torchs_randn_scaled_by_the_sigmas_span(string sigmas, double ofThree)
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: add-noise
            nodes:
              empty: { node: latent.empty, with: { width: 24, height: 16 } }
              noisy: { node: latent.add_noise, in: { latent_image: empty.latent }, with: { seed: 42, sigmas: "{{sigmas}}" } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var noisy = Assert.IsType<Latent>(run.Result.Output("noisy", "latent"));
        Assert.Equal((4, 2, 3), (noisy.Channels, noisy.Height, noisy.Width));
        for (var i = 0; i < Seed42TimesThree.Length; i++)
            Assert.True(Math.Abs(Seed42TimesThree[i] * ofThree - noisy.Values[i]) <= 1e-6 * Math.Max(1, Math.Abs(Seed42TimesThree[i] * ofThree)),
                $"{sigmas}: value {i} {noisy.Values[i]:R} vs {Seed42TimesThree[i] * ofThree:R}");
    }

    [Fact]
    public async Task A_schedule_by_name_needs_the_models_configuration()
    {
        const string yaml = """
            flowdiffusion: 1
            name: add-noise-no-config
            nodes:
              empty: { node: latent.empty, with: { width: 24, height: 16 } }
              noisy: { node: latent.add_noise, in: { latent_image: empty.latent }, with: { seed: 1, scheduler: karras, steps: 4 } }
            """;
        var result = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Contains("config", result.Result.Error ?? "", StringComparison.Ordinal);
    }
}
