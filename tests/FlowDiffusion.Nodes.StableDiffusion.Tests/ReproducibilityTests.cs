namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Seeds reproduce images, batches equal their single runs, and the cache spares the text encoder.</summary>
public sealed class ReproducibilityTests
{
    [Fact]
    public async Task Same_seed_gives_identical_pixels_in_independent_engines()
    {
        var inputs = Inputs.Of("tiny-sd", "a red circle", "blurry", seed: 7, steps: 4, cfg: 7.5, scheduler: "euler_a");
        using var first = new SdEngine();
        using var second = new SdEngine();

        var a = (await first.RunFileAsync("txt2img.yaml", inputs)).AssertCompleted().Image();
        var b = (await second.RunFileAsync("txt2img.yaml", inputs)).AssertCompleted().Image();

        Assert.Equal(a.Pixels.ToArray(), b.Pixels.ToArray());
        Assert.Contains(a.ToArray(), v => v is > 0.01f and < 0.99f); // not a degenerate constant image
    }

    [Theory]
    [InlineData("euler_a")] // ancestral: each image continues its own seed's random stream
    [InlineData("dpmpp_2m")]
    public async Task Batch_of_two_equals_single_runs_with_seed_and_seed_plus_one(string scheduler)
    {
        var engine = SdEngine.Shared;
        var batch = (await engine.RunFileAsync("txt2img.yaml", Inputs.Of("tiny-sd", "a cat", "dog", seed: 40, steps: 4, cfg: 5, scheduler: scheduler, batch: 2))).AssertCompleted();
        var single0 = (await engine.RunFileAsync("txt2img.yaml", Inputs.Of("tiny-sd", "a cat", "dog", seed: 40, steps: 4, cfg: 5, scheduler: scheduler))).AssertCompleted();
        var single1 = (await engine.RunFileAsync("txt2img.yaml", Inputs.Of("tiny-sd", "a cat", "dog", seed: 41, steps: 4, cfg: 5, scheduler: scheduler))).AssertCompleted();

        var latents = batch.Latent();
        Assert.Equal(2, latents.Batch);
        Assert.Equal([40UL, 41UL], latents.Seeds);
        AssertClose(single0.Latent().Values.ToArray(), latents.Values[..latents.ItemLength].ToArray());
        AssertClose(single1.Latent().Values.ToArray(), latents.Values[latents.ItemLength..].ToArray());
        Assert.Equal(2, batch.Image().Batch);
        Assert.Equal(2, batch.Result.OutputFiles.Count);
    }

    [Fact]
    public async Task Rerun_with_only_the_seed_changed_skips_the_text_encoder()
    {
        using var engine = new SdEngine();
        var first = (await engine.RunFileAsync("txt2img.yaml", Inputs.Of("tiny-sd", "a red circle", "blurry", seed: 1, steps: 2, cfg: 7.5))).AssertCompleted();
        var second = (await engine.RunFileAsync("txt2img.yaml", Inputs.Of("tiny-sd", "a red circle", "blurry", seed: 2, steps: 2, cfg: 7.5))).AssertCompleted();

        foreach (var node in new[] { "model", "positive_tokens", "negative_tokens", "positive", "negative" })
        {
            Assert.Equal((1, 0), (first.Started(node), first.CachedCount(node)));
            Assert.Equal((0, 1), (second.Started(node), second.CachedCount(node)));
        }
        foreach (var node in new[] { "noise", "sample", "decode", "save" })
            Assert.Equal((1, 0), (second.Started(node), second.CachedCount(node)));
        Assert.NotEqual(first.Image().Pixels.ToArray(), second.Image().Pixels.ToArray());
    }

    // A batched ONNX Runtime call may sum in another order than a single one; 1e-5 relative is far below any real difference.
    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++)
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]) / Math.Max(1.0, Math.Abs(expected[i])));
        Assert.True(worst <= 1e-5, $"largest difference {worst:E3}");
    }
}
