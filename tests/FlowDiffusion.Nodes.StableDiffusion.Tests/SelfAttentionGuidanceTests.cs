using System.Globalization;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Guidance;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// guidance.cfg's sag_scale (ComfyUI's SelfAttentionGuidance) on the tiny SD 1.x checkpoint through model.load, against the
/// same converted UNet run by hand: one euler step from σ_max over latents that carry their noise (add_noise off) lands on
/// the guided x₀ estimate, which must be CFG's plus scale·(d − s), with d the negative's x₀ estimate blurred where the
/// [negative; positive] call's map of the negative rows marks and s the estimate of d re-noised, predicted with the negative
/// (<see cref="GuidancePatches.DegradeForSelfAttention"/>, whose arithmetic SelfAttentionGuidanceReferenceTests pins to
/// torch). Tolerance 1e-4 on the guided ε (values ~1). On the tiny SDXL checkpoint the same path runs (its added
/// conditioning through the mapped call and the second one) and changes the step; scale 0 is plain bit for bit. Through
/// unet.deep_shrink both calls are the shrunk UNet's, as ComfyUI's model patches apply to SAG's second call too, and the
/// map is the shrunk middle block's (ComfyUI infers its size from the token count).
/// </summary>
public sealed class SelfAttentionGuidanceTests : IDisposable
{
    private static readonly string Checkpoint = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny", "ldm-fp16.safetensors");
    // The latents' side: at 16 (not at 8) the negative's and the positive's maps mark different tokens.
    private const int Side = 16;

    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-sag-node-").FullName;

    [Theory]
    [InlineData(1, 4.0, 0.5)]
    [InlineData(2, 4.0, 1.5)]
    [InlineData(1, 1.0, -0.75)] // at cfg 1 the negative is evaluated too (ComfyUI's disable_cfg1_optimization)
    [InlineData(2, 4.0, 0.5, true)] // through unet.deep_shrink (block 1, factor 2, inside its window at σ_max): both calls shrink, the map has 4 × 4 tokens
    public async Task A_step_with_sag_adds_scale_times_degraded_minus_its_prediction_to_the_CFG_result(int batch, double cfg, double sag, bool deepShrink = false)
    {
        var run = (await SdEngine.Shared.RunYamlAsync(Yaml(batch, cfg, sag, 8 * Side, deepShrink), new Dictionary<string, object?>())).AssertCompleted();
        var x = Assert.IsType<Latent>(run.Result.Output("noise", "noise")).ToArray();
        var result = Assert.IsType<Latent>(run.Result.Output("sample", "latent")).ToArray();
        var positive = Assert.IsType<Conditioning>(run.Result.Output("positive", "conditioning"));
        var negative = Assert.IsType<Conditioning>(run.Result.Output("negative", "conditioning"));
        var sigma = (float)SigmaMax();
        var input = x.Select(v => (float)(v / Math.Sqrt((sigma * sigma) + 1))).ToArray();
        using var cache = new OnnxSessionCache();
        var folder = CheckpointCache.Prepare(Checkpoint, Path.Combine(RepositoryRoot.Path, "models", "tiny-sd", "tokenizer"), _scratch);
        var unet = UNetVariant.Open(cache, new OnnxModelSource(Path.Combine(folder, "unet", "model.onnx")));

        // [negative; positive] with the negative rows mapped, as the guider batches them.
        var shape = new LatentShape(batch, 4, Side, Side);
        float[] Rows(Conditioning c) => [.. Enumerable.Range(0, batch).SelectMany(_ => c.Embeddings.ToArray())];
        var both = new float[2 * x.Length];
        var shrink = deepShrink ? new DeepShrink(1, 2, true, "bicubic", "bicubic") : null;
        var map = unet.Predict([.. input, .. input], shape with { Batch = 2 * batch }, 999f, [.. Rows(negative), .. Rows(positive)], positive.Tokens,
            new UNetVariantInputs(SagRows: [.. Enumerable.Range(0, batch)], DeepShrink: shrink), both, CancellationToken.None)!;
        Assert.Equal(batch * (deepShrink ? Side * Side / 16 : Side * Side / 4), map.Length);
        var patches = new GuidancePatches(new ModelPrediction(PredictionKind.Epsilon, 1), 0, null, false, null) { SelfAttention = new SelfAttentionGuidance(sag, 2) };
        var step = patches.DegradeForSelfAttention(both.AsSpan(0, x.Length), map, input, batch, 4, 4, Side, Side, sigma)!;
        var degraded = new float[x.Length];
        unet.Predict(step.ModelInput, shape, 999f, Rows(negative), negative.Tokens, new UNetVariantInputs(DeepShrink: shrink), degraded, CancellationToken.None);
        var guided = new float[x.Length];
        patches.Guide(both.AsSpan(x.Length), both.AsSpan(0, x.Length), (float)cfg, input, batch, 4, 4, Side * Side, sigma, guided, width: Side, degraded: step, degradedPrediction: degraded);
        var plain = new float[x.Length];
        CfgGuiderCombine(both.AsSpan(0, x.Length), both.AsSpan(x.Length), (float)cfg, plain);

        // The step's ε̂ = (x − x₀)/σ against the guided prediction.
        var worst = x.Select((v, k) => Math.Abs(((v - result[k]) / sigma) - guided[k])).Max();
        Assert.True(worst < 1e-4, $"guided ε off by {worst:G4}");
        Assert.True(x.Select((v, k) => Math.Abs(((v - result[k]) / sigma) - plain[k])).Max() > 0.01, "SAG must change the step");
        Assert.Contains(map, m => m > SelfAttentionGuidance.Threshold);
        Assert.Contains(map, m => m <= SelfAttentionGuidance.Threshold);
        // The positive rows' map marks other tokens, so mapping the wrong half would show.
        var all = unet.Predict([.. input, .. input], shape with { Batch = 2 * batch }, 999f, [.. Rows(negative), .. Rows(positive)], positive.Tokens,
            new UNetVariantInputs(SagRows: [.. Enumerable.Range(0, 2 * batch)], DeepShrink: shrink), both, CancellationToken.None)!;
        Assert.NotEqual(all[..map.Length].Select(m => m > 1), all[map.Length..].Select(m => m > 1));
    }

    [Fact]
    public async Task Sag_scale_zero_draws_what_plain_guidance_draws_bit_for_bit_and_small_latents_are_left_unguided_by_it()
    {
        static async Task<float[]> Draw(double? sag, int size) =>
            Assert.IsType<Latent>((await SdEngine.Shared.RunYamlAsync(Yaml(1, 4, sag, size), new Dictionary<string, object?>())).AssertCompleted().Result.Output("sample", "latent")).ToArray();
        var plain = await Draw(null, 64);

        Assert.Equal(plain, await Draw(0, 64));
        Assert.NotEqual(plain, await Draw(1, 64));
        // A 4×4 latent: ComfyUI returns the CFG result (too small to pad the blur), whatever the scale.
        Assert.Equal(await Draw(0.5, 32), await Draw(2, 32));
    }

    [Fact]
    public async Task On_the_tiny_SDXL_checkpoint_sag_runs_and_changes_the_step_and_scale_zero_is_plain()
    {
        var sdxl = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sdxl-tiny", "sdxl-fp16.safetensors");
        async Task<float[]> Draw(double? sag)
        {
            var yaml = Yaml(1, 4, sag, 8 * Side).Replace(Checkpoint.Replace("\\", "\\\\", StringComparison.Ordinal), sdxl.Replace("\\", "\\\\", StringComparison.Ordinal), StringComparison.Ordinal);
            var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
            return Assert.IsType<Latent>(run.Result.Output("sample", "latent")).ToArray();
        }

        var plain = await Draw(null);
        var guided = await Draw(0.5);

        Assert.Equal(plain, await Draw(0));
        Assert.DoesNotContain(guided, float.IsNaN);
        Assert.True(plain.Zip(guided, (a, b) => Math.Abs(a - b)).Max() > 1e-3, "SAG must change the SDXL step");
    }

    [Theory]
    [InlineData(", sag_blur_sigma: 0", "sag_blur_sigma must be above 0")]
    [InlineData(", pag_scale: 1", "sag_scale with pag_scale is not supported")]
    [InlineData(", tcfg: true", "sag_scale with tcfg is not supported")]
    public async Task Combinations_sag_cannot_run_fail_naming_them(string more, string expected)
    {
        var yaml = Yaml(1, 4, 0.5, 64).Replace("sag_scale: 0.5", "sag_scale: 0.5" + more, StringComparison.Ordinal);
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());

        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Contains(expected, run.Result.Error);
    }

    [Fact]
    public async Task A_composed_prompt_fails_naming_what_sag_cannot_take()
    {
        var yaml = Yaml(1, 4, 0.5, 64).Replace("text: a house", "text: a house AND a tree", StringComparison.Ordinal);
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());

        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Contains("SAG (self-attention guidance) needs one positive and one negative conditioning", run.Result.Error);
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static void CfgGuiderCombine(ReadOnlySpan<float> u, ReadOnlySpan<float> c, float scale, Span<float> result)
    {
        for (var k = 0; k < result.Length; k++) result[k] = u[k] + (scale * (c[k] - u[k]));
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

    private static string Yaml(int batch, double cfg, double? sag, int size, bool deepShrink = false)
    {
        string F(double v) => v.ToString(CultureInfo.InvariantCulture);
        var sagSetting = sag is { } s ? $", sag_scale: {F(s)}" : string.Empty;
        var (unet, shrink) = deepShrink
            ? ("shrink.unet_out", "shrink: { node: unet.deep_shrink, in: { unet: model.unet }, with: { block_number: 1 } }")
            : ("model.unet", string.Empty);
        return $$"""
            flowdiffusion: 1
            name: sag
            nodes:
              model: { node: model.load, with: { path: "{{Checkpoint.Replace("\\", "\\\\", StringComparison.Ordinal)}}", tokenizer_folder: models/tiny-sd/tokenizer } }
              pos_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a house } }
              positive: { node: clip.encode, in: { clip: model.clip, tokens: pos_tokens.tokens } }
              neg_tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a tree } }
              negative: { node: clip.encode, in: { clip: model.clip, tokens: neg_tokens.tokens } }
              noise: { node: latent.noise, in: { unet: model.unet }, with: { seed: 3, width: {{size}}, height: {{size}}, batch: {{batch}} } }
              {{shrink}}
              denoise: { node: unet.denoiser, in: { unet: {{unet}} } }
              guider: { node: guidance.cfg, in: { denoiser: denoise.denoiser, positive: positive.conditioning, negative: negative.conditioning, config: model.scheduler_config }, with: { scale: {{F(cfg)}}{{sagSetting}} } }
              sample: { node: diffusion.ksampler, in: { guider: guider.guider, config: model.scheduler_config, latent_image: noise.noise }, with: { seed: 1, steps: 1, sampler: euler, scheduler: normal, add_noise: false } }

            """;
    }
}
