using System.Globalization;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// guidance.cfg's pag_scale (ComfyUI's PerturbedAttentionGuidance) on the tiny SD 1.x checkpoint through model.load (a graph
/// with pag_mask, builder version 8), against the UNet's own predictions: one euler step from σ_max over latents that carry
/// their noise (add_noise off) lands on the guided x₀ estimate x − σ·ε̂, and for this ε model PAG's x₀-space term
/// scale·(c − p) is −σ·scale·(ε_c − ε_p), so ε̂ = ε_u + cfg·(ε_c − ε_u) + pag·(ε_c − ε_p) with ε_p the UNet's prediction
/// for the positive with its middle-block self-attention replaced by its values. Tolerance 1e-4 on ε̂ (values ~1). With
/// unet.deep_shrink before the denoiser the three predictions are the shrunk UNet's (its middle block is smaller).
/// </summary>
public sealed class PerturbedAttentionGuidanceTests
{
    private static readonly string Checkpoint = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny", "ldm-fp16.safetensors");
    private static readonly ExtraKey<ExtraTensor> PagMask = ExtraKey.Tensor("pag_mask");

    [Theory]
    [InlineData(1, 4.0, 2.0)]
    [InlineData(2, 4.0, 3.0)]
    [InlineData(1, 1.0, 1.5)] // at cfg 1 the negative is evaluated too (ComfyUI's disable_cfg1_optimization): ε̂ = ε_c + pag·(ε_c − ε_p)
    [InlineData(2, 4.0, 2.0, true)] // through unet.deep_shrink (block 1, inside its window at σ_max): every prediction is the shrunk UNet's
    public async Task A_step_with_pag_adds_scale_times_conditional_minus_perturbed_to_the_CFG_result(int batch, double cfg, double pag, bool deepShrink = false)
    {
        var run = (await SdEngine.Shared.RunYamlAsync(Yaml(batch, cfg, pag, deepShrink), new Dictionary<string, object?>())).AssertCompleted();
        var unet = Assert.IsAssignableFrom<IUNetModel>(deepShrink ? run.Result.Output("shrink", "unet_out") : run.Result.Output("model", "unet"));
        var noise = Assert.IsType<Latent>(run.Result.Output("noise", "noise"));
        var result = Assert.IsType<Latent>(run.Result.Output("sample", "latent")).ToArray();
        var positive = Assert.IsType<Conditioning>(run.Result.Output("positive", "conditioning"));
        var negative = Assert.IsType<Conditioning>(run.Result.Output("negative", "conditioning"));
        var x = noise.ToArray();
        var shape = new LatentShape(batch, 4, 8, 8);
        var sigma = SigmaMax();
        var input = x.Select(v => (float)(v / Math.Sqrt((sigma * sigma) + 1))).ToArray();

        async Task<float[]> Predict(Conditioning c) => await unet.PredictAsync(new DenoiserInput(input, shape, 999f, c), CancellationToken.None);
        var conditional = await Predict(positive);
        var unconditional = await Predict(negative);
        var perturbed = await Predict(positive.WithExtras(positive.Extras.With(PagMask, new ExtraTensor([1, 1], [1f]))));

        var worst = 0.0;
        for (var k = 0; k < x.Length; k++)
        {
            var expected = unconditional[k] + (cfg * (conditional[k] - unconditional[k])) + (pag * (conditional[k] - perturbed[k]));
            worst = Math.Max(worst, Math.Abs(((x[k] - result[k]) / sigma) - expected));
        }

        Assert.True(worst < 1e-4, $"guided ε off by {worst:G4}");
        Assert.True(conditional.Zip(perturbed, (c, p) => Math.Abs(c - p)).Max() > 0.05, "the perturbed prediction must differ from the conditional one");
        if (deepShrink)
        {
            var plain = await Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet")).PredictAsync(new DenoiserInput(input, shape, 999f, positive), CancellationToken.None);
            Assert.True(conditional.Zip(plain, (c, p) => Math.Abs(c - p)).Max() > 0.05, "Deep Shrink must act at this step");
        }
    }

    [Fact]
    public async Task Pag_scale_zero_draws_what_plain_guidance_draws_bit_for_bit()
    {
        var plain = (await SdEngine.Shared.RunYamlAsync(Yaml(1, 4, null), new Dictionary<string, object?>())).AssertCompleted();
        var off = (await SdEngine.Shared.RunYamlAsync(Yaml(1, 4, 0), new Dictionary<string, object?>())).AssertCompleted();
        var on = (await SdEngine.Shared.RunYamlAsync(Yaml(1, 4, 1), new Dictionary<string, object?>())).AssertCompleted();

        var expected = Assert.IsType<Latent>(plain.Result.Output("sample", "latent")).ToArray();
        Assert.Equal(expected, Assert.IsType<Latent>(off.Result.Output("sample", "latent")).ToArray());
        Assert.NotEqual(expected, Assert.IsType<Latent>(on.Result.Output("sample", "latent")).ToArray());
    }

    [Fact]
    public async Task Pag_on_a_UNet_without_the_mask_input_fails_asking_for_a_new_conversion()
    {
        var yaml = Yaml(1, 4, 2).Replace(Checkpoint.Replace("\\", "\\\\", StringComparison.Ordinal), "models/tiny-sd", StringComparison.Ordinal);
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());

        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Contains("takes no pag_mask", run.Result.Error);
    }

    // σ_max of SD's scaled_linear schedule (β from 0.00085 to 0.012 over 1000 steps), where "normal" with one step starts.
    private static double SigmaMax()
    {
        double start = Math.Sqrt(0.00085), end = Math.Sqrt(0.012), alphaBar = 1;
        for (var i = 0; i < 1000; i++)
        {
            var beta = start + ((end - start) * i / 999);
            alphaBar *= 1 - (beta * beta);
        }

        return Math.Sqrt((1 - alphaBar) / alphaBar);
    }

    private static string Yaml(int batch, double cfg, double? pag, bool deepShrink = false)
    {
        string F(double v) => v.ToString(CultureInfo.InvariantCulture);
        var pagSetting = pag is { } p ? $", pag_scale: {F(p)}" : string.Empty;
        var (unet, shrink) = deepShrink
            ? ("shrink.unet_out", "shrink: { node: unet.deep_shrink, in: { unet: model.unet }, with: { block_number: 1 } }")
            : ("model.unet", string.Empty);
        return $$"""
            flowdiffusion: 1
            name: pag
            nodes:
              model: { node: model.load, with: { path: "{{Checkpoint.Replace("\\", "\\\\", StringComparison.Ordinal)}}", tokenizer_folder: models/tiny-sd/tokenizer } }
              pos_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a house } }
              positive: { node: clip.encode, in: { clip: model.clip, tokens: pos_tokens.tokens } }
              neg_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a tree } }
              negative: { node: clip.encode, in: { clip: model.clip, tokens: neg_tokens.tokens } }
              noise: { node: latent.noise, in: { unet: model.unet }, with: { seed: 3, width: 64, height: 64, batch: {{batch}} } }
              {{shrink}}
              denoise: { node: unet.denoiser, in: { unet: {{unet}} } }
              guider: { node: guidance.cfg, in: { denoiser: denoise.denoiser, positive: positive.conditioning, negative: negative.conditioning, config: model.scheduler_config }, with: { scale: {{F(cfg)}}{{pagSetting}} } }
              sample: { node: diffusion.ksampler, in: { guider: guider.guider, config: model.scheduler_config, latent_image: noise.noise }, with: { seed: 1, steps: 1, sampler: euler, scheduler: normal, add_noise: false } }

            """;
    }
}
