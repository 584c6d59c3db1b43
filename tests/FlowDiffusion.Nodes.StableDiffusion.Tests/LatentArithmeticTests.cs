using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// latent.add, latent.subtract, latent.multiply, latent.interpolate and latent.seed_behavior (ComfyUI's LatentAdd,
/// LatentSubtract, LatentMultiply, LatentInterpolate, LatentBatchSeedBehavior) on analytic-sd latents, whose values are
/// known: vae.encode turns colour c into 0.18215 · M · (2c − 1) at every latent pixel, M's columns orthonormal, so
/// lengths in the latent are lengths of u = 2c − 1. Every expected value is worked out by hand in u.
/// </summary>
public sealed class LatentArithmeticTests
{
    private const float Scale = 0.18215f;

    [Fact]
    public async Task Add_subtract_and_multiply_work_value_by_value_bringing_samples2_to_samples1s_size_and_batch()
    {
        using var temp = new TempFolder();
        string red = Path.Combine(temp.Path, "red.png"), white = Path.Combine(temp.Path, "white.png"), black = Path.Combine(temp.Path, "black.png");
        TestPng.WriteRgb(red, 16, 8, (_, _) => (255, 0, 0));
        TestPng.WriteRgb(white, 8, 8, (_, _) => (255, 255, 255));
        TestPng.WriteRgb(black, 16, 8, (_, _) => (0, 0, 0));
        var yaml = $$"""
            flowdiffusion: 1
            name: latent arithmetic
            nodes:
              model: { node: model.load, with: { path: models/analytic-sd } }
              red: { node: image.load, with: { path: "{{red}}" } }
              white: { node: image.load, with: { path: "{{white}}" } }
              black: { node: image.load, with: { path: "{{black}}" } }
              reds: { node: image.batch, in: { image1: red.image, image2: black.image } }
              redlatent: { node: vae.encode, in: { vae: model.vae, image: red.image } }
              whitelatent: { node: vae.encode, in: { vae: model.vae, image: white.image } }
              pair: { node: vae.encode, in: { vae: model.vae, image: reds.batched } }
              three: { node: latent.repeat, in: { latent: redlatent.latent }, with: { amount: 3 } }
              add: { node: latent.add, in: { samples1: redlatent.latent, samples2: whitelatent.latent } }
              subtract: { node: latent.subtract, in: { samples1: redlatent.latent, samples2: whitelatent.latent } }
              cycled: { node: latent.subtract, in: { samples1: three.repeated, samples2: pair.latent } }
              multiply: { node: latent.multiply, in: { samples: pair.latent }, with: { multiplier: -0.5 } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        // red u = (1, −1, −1), white (1, 1, 1) at 1 × 1 latent pixels, resized to red's 2 × 1; black (−1, −1, −1).
        var sum = Latent(run, "add", "sum");
        Assert.Equal((1, 4, 1, 2), (sum.Batch, sum.Channels, sum.Height, sum.Width));
        Near(Encoded(2, 0, 0), sum.Values);
        Near(Encoded(0, -2, -2), Latent(run, "subtract", "difference").Values);
        // Three reds less the pair (red, black) repeated as red, black, red: 0, red − black = (2, 0, 0), 0.
        var cycled = Latent(run, "cycled", "difference");
        Assert.Equal(3, cycled.Batch);
        Near([.. Encoded(0, 0, 0), .. Encoded(2, 0, 0), .. Encoded(0, 0, 0)], cycled.Values);
        // −0.5 · red, −0.5 · black.
        Near([.. Encoded(-0.5f, 0.5f, 0.5f), .. Encoded(0.5f, 0.5f, 0.5f)], Latent(run, "multiply", "product").Values);
    }

    [Fact]
    public async Task Interpolate_mixes_unit_vectors_by_ratio_gives_them_the_mixed_length_and_turns_zero_lengths_into_zero()
    {
        using var temp = new TempFolder();
        string red = Path.Combine(temp.Path, "red.png"), white = Path.Combine(temp.Path, "white.png"), cyan = Path.Combine(temp.Path, "cyan.png");
        TestPng.WriteRgb(red, 8, 8, (_, _) => (255, 0, 0));
        TestPng.WriteRgb(white, 8, 8, (_, _) => (255, 255, 255));
        TestPng.WriteRgb(cyan, 8, 8, (_, _) => (0, 255, 255));
        var yaml = $$"""
            flowdiffusion: 1
            name: latent interpolation
            nodes:
              model: { node: model.load, with: { path: models/analytic-sd } }
              red: { node: image.load, with: { path: "{{red}}" } }
              white: { node: image.load, with: { path: "{{white}}" } }
              cyan: { node: image.load, with: { path: "{{cyan}}" } }
              r: { node: vae.encode, in: { vae: model.vae, image: red.image } }
              w: { node: vae.encode, in: { vae: model.vae, image: white.image } }
              c: { node: vae.encode, in: { vae: model.vae, image: cyan.image } }
              zero: { node: latent.empty, with: { width: 8, height: 8 } }
              mixed: { node: latent.interpolate, in: { samples1: r.latent, samples2: w.latent }, with: { ratio: 0.25 } }
              fromzero: { node: latent.interpolate, in: { samples1: zero.latent, samples2: r.latent }, with: { ratio: 0.25 } }
              zeros: { node: latent.interpolate, in: { samples1: zero.latent, samples2: zero.latent }, with: { ratio: 0.5 } }
              opposite: { node: latent.interpolate, in: { samples1: r.latent, samples2: c.latent }, with: { ratio: 0.5 } }
              first: { node: latent.interpolate, in: { samples1: r.latent, samples2: w.latent } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        // red u1 = (1, −1, −1), white u2 = (1, 1, 1), both of length √3. ratio 0.25 weighs samples1:
        // t = (0.25 u1 + 0.75 u2) / √3 = (1, 0.5, 0.5) / √3 of length 1/√2; given length √3: (1, 0.5, 0.5) · √2
        // (a plain lerp gives (1, 0.5, 0.5)).
        Near(Encoded(1.4142136f, 0.7071068f, 0.7071068f), Latent(run, "mixed", "interpolated").Values);
        // samples1 0: its unit vector is 0 (not NaN), so t = 0.75 · red's, and the length 0.75 · red's: 0.75 red.
        Near(Encoded(0.75f, -0.75f, -0.75f), Latent(run, "fromzero", "interpolated").Values);
        Near(new float[4], Latent(run, "zeros", "interpolated").Values);
        // cyan is −red: half and half gives t = 0, whose unit vector is 0.
        Near(new float[4], Latent(run, "opposite", "interpolated").Values);
        // ratio defaults to 1: samples1.
        Near(Encoded(1, -1, -1), Latent(run, "first", "interpolated").Values);
    }

    [Fact]
    public async Task Seed_behavior_fixed_gives_every_item_the_first_items_noise_index_and_random_drops_them()
    {
        var yaml = """
            flowdiffusion: 1
            name: seed behaviour
            nodes:
              empty: { node: latent.empty, with: { width: 8, height: 8, batch: 4 } }
              fresh: { node: latent.seed_behavior, in: { samples: empty.latent } }
              cut: { node: latent.from_batch, in: { latent: empty.latent }, with: { batch_index: 2, length: 2 } }
              fixed: { node: latent.seed_behavior, in: { samples: cut.items }, with: { seed_behavior: fixed } }
              random: { node: latent.seed_behavior, in: { samples: cut.items }, with: { seed_behavior: random } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        Assert.Equal([0, 0, 0, 0], Latent(run, "fresh", "latent").NoiseIndices);
        Assert.Equal([2, 3], Latent(run, "cut", "items").NoiseIndices);
        Assert.Equal([2, 2], Latent(run, "fixed", "latent").NoiseIndices);
        Assert.Null(Latent(run, "random", "latent").NoiseIndices);
    }

    private static Latent Latent(SdRun run, string node, string output) => Assert.IsType<Latent>(run.Result.Output(node, output));

    // 0.18215 · M · u for one latent pixel, M = ½ [[1, 1, 1], [1, −1, 1], [1, 1, −1], [1, −1, −1]].
    private static float[] Encoded(float r, float g, float b) =>
        [Scale * (r + g + b) / 2, Scale * (r - g + b) / 2, Scale * (r + g - b) / 2, Scale * (r - g - b) / 2];

    // Every latent pixel of each item holds the pixel given (items concatenated in expected).
    private static void Near(float[] expected, ReadOnlySpan<float> actual)
    {
        var pixels = actual.Length / expected.Length;
        for (var i = 0; i < actual.Length; i++)
        {
            var item = i / (4 * pixels);
            var channel = i % (4 * pixels) / pixels;
            var want = expected[item * 4 + channel];
            Assert.True(Math.Abs(want - actual[i]) < 2e-6, $"value {i} (item {item}, channel {channel}): expected {want}, got {actual[i]}");
        }
    }
}
