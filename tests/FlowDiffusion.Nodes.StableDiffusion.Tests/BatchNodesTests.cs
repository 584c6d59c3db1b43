using FlowDiffusion.Diffusion.Noise;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// latent.from_batch, latent.batch, image.batch, image.from_batch, image.repeat and image.empty (ComfyUI's
/// LatentFromBatch, LatentBatch, ImageBatch, ImageFromBatch, RepeatImageBatch, EmptyImage), and the noise indices that
/// let diffusion.ksampler give a latent cut from a batch the noise it had in the batch, as ComfyUI's batch_index.
/// </summary>
public sealed class BatchNodesTests
{
    [Fact]
    public async Task Latent_batch_nodes_cut_join_and_repeat_with_ComfyUIs_batch_index()
    {
        var yaml = """
            flowdiffusion: 1
            name: batches
            nodes:
              noise: { node: latent.noise, with: { width: 16, height: 16, batch: 4, seed: 3 } }
              small: { node: latent.noise, with: { width: 8, height: 8, batch: 1, seed: 9 } }
              cut: { node: latent.from_batch, in: { latent: noise.noise }, with: { batch_index: 1, length: 2 } }
              late: { node: latent.from_batch, in: { latent: noise.noise }, with: { batch_index: 9, length: 5 } }
              again: { node: latent.from_batch, in: { latent: cut.items }, with: { batch_index: 1, length: 1 } }
              joined: { node: latent.batch, in: { samples1: cut.items, samples2: small.noise } }
              repeated: { node: latent.repeat, in: { latent: cut.items }, with: { amount: 3 } }
              gap: { node: latent.batch, in: { samples1: late.items, samples2: small.noise } }
              gaps: { node: latent.repeat, in: { latent: gap.batched }, with: { amount: 2 } }
              white: { node: image.empty, with: { width: 2, height: 2, color: 16777215 } }
              black: { node: image.empty, with: { width: 2, height: 2 } }
              pair: { node: image.batch, in: { image1: white.image, image2: black.image } }
              masks: { node: mask.from_image, in: { image: pair.batched }, with: { channel: red } }
              cutmasks: { node: mask.from_batch, in: { mask: masks.mask, latent: noise.noise }, with: { batch_index: 2, length: 2 } }
              one: { node: mask.solid, with: { value: 0.25, width: 2, height: 2 } }
              cutone: { node: mask.from_batch, in: { mask: one.mask, latent: noise.noise }, with: { batch_index: 3 } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var noise = Assert.IsType<Latent>(run.Result.Output("noise", "noise")).ToArray();
        var item = 4 * 2 * 2;

        // Items 1 and 2, with noise indices 1 and 2; an index past the end takes the last item alone.
        var cut = Assert.IsType<Latent>(run.Result.Output("cut", "items"));
        Assert.Equal(noise[item..(3 * item)], cut.ToArray());
        Assert.Equal(new[] { 1, 2 }, cut.NoiseIndices!);
        var late = Assert.IsType<Latent>(run.Result.Output("late", "items"));
        Assert.Equal(1, late.Batch);
        Assert.Equal(new[] { 3 }, late.NoiseIndices!);
        Assert.Equal(noise[(3 * item)..], late.ToArray());
        // Cut again: the indices it had, not its place in the smaller batch.
        Assert.Equal(new[] { 2 }, Assert.IsType<Latent>(run.Result.Output("again", "items")).NoiseIndices!);

        // samples2 (1 × 1) is resized to 2 × 2 (bilinear: every value the one value) and numbered from 0 again.
        var joined = Assert.IsType<Latent>(run.Result.Output("joined", "batched"));
        var small = Assert.IsType<Latent>(run.Result.Output("small", "noise")).ToArray();
        Assert.Equal((3, 2, 2), (joined.Batch, joined.Height, joined.Width));
        Assert.Equal(new[] { 1, 2, 0 }, joined.NoiseIndices!);
        for (var c = 0; c < 4; c++) Assert.All(joined.ToArray()[(2 * item + 4 * c)..(2 * item + 4 * c + 4)], v => Assert.Equal(small[c], v, 6));

        // Two masks (white, black) for four latents repeat to white, black, white, black: items 2 and 3 take white, black.
        Assert.Equal(new[] { 1f, 1, 1, 1, 0, 0, 0, 0 }, Assert.IsType<Mask>(run.Result.Output("cutmasks", "items")).ToArray());
        // A mask of one image serves every item and stays whole.
        Assert.Equal(1, Assert.IsType<Mask>(run.Result.Output("cutone", "items")).Batch);

        // Repeated three times: copy i shifted by i × (max − min + 1) = 2i.
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6 }, Assert.IsType<Latent>(run.Result.Output("repeated", "repeated")).NoiseIndices!);
        // Indices 3 and 0 span 4, so the second copy is 7 and 4.
        Assert.Equal(new[] { 3, 0, 7, 4 }, Assert.IsType<Latent>(run.Result.Output("gaps", "repeated")).NoiseIndices!);
    }

    [Fact]
    public async Task A_latent_cut_from_a_batch_is_sampled_with_the_noise_it_had_there_drawn_item_by_item()
    {
        // One euler step from sigma 10 to 2 on analytic-sd (x0 = the colour T): x1 = 0.8·T + 2·noise, so each channel less
        // its mean is twice the centred noise. Latents of 6 × 5: 120 values an item, not a multiple of torch's block of 16,
        // so ComfyUI's item-by-item draws differ from slices of one draw of the whole batch.
        var yaml = """
            flowdiffusion: 1
            name: batch index
            nodes:
              model: { node: model.load, with: { path: models/analytic-sd } }
              tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a green field } }
              positive: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens } }
              denoiser: { node: unet.denoiser, in: { unet: model.unet } }
              guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: positive.conditioning, negative: positive.conditioning }, with: { scale: 1 } }
              empty: { node: latent.empty, in: { unet: model.unet }, with: { width: 48, height: 40, batch: 3 } }
              third: { node: latent.from_batch, in: { latent: empty.latent }, with: { batch_index: 2 } }
              sample: { node: diffusion.ksampler, in: { guider: guider.guider, config: model.scheduler_config, latent_image: third.items }, with: { seed: 11, sampler: euler, sigmas: "10, 2, 0", end_step: 1, return_with_leftover_noise: true } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var latent = run.Latent();
        Assert.Equal((1, 5, 6), (latent.Batch, latent.Height, latent.Width));
        Assert.Equal(new[] { 2 }, latent.NoiseIndices!);

        var length = latent.ItemLength;
        var generator = new TorchGenerator(11);
        var items = new float[3][];
        for (var i = 0; i < 3; i++) generator.FillStandardNormal(items[i] = new float[length]);
        var whole = new float[3 * length];
        new TorchGenerator(11).FillStandardNormal(whole);
        var residual = NoiseCorrelation.Centred(latent.ToArray());
        Assert.True(NoiseCorrelation.Of(residual, NoiseCorrelation.Centred(items[2])) > 0.99999, $"correlation with ComfyUI's third item {NoiseCorrelation.Of(residual, NoiseCorrelation.Centred(items[2])):F6}");
        Assert.True(NoiseCorrelation.Of(residual, NoiseCorrelation.Centred(whole[(2 * length)..])) < 0.9, "the third slice of one whole-batch draw is not what ComfyUI draws");
        Assert.True(Math.Abs(NoiseCorrelation.Of(residual, NoiseCorrelation.Centred(items[0]))) < 0.5, "the first item's noise is the batch-of-one noise, not the third's");
    }

    [Fact]
    public async Task Image_batch_resizes_the_second_with_a_centre_crop_and_from_batch_repeat_and_empty_give_hand_computed_pixels()
    {
        using var temp = new TempFolder();
        string wide = Path.Combine(temp.Path, "wide.png"), square = Path.Combine(temp.Path, "square.png");
        // wide: 4 × 2 with red = 60·x (0, 60, 120, 180); square: 2 × 2 black.
        TestPng.WriteRgb(wide, 4, 2, (x, _) => ((byte)(60 * x), 0, 0));
        TestPng.WriteRgb(square, 2, 2, (_, _) => (0, 0, 0));
        var yaml = $$"""
            flowdiffusion: 1
            name: image batches
            nodes:
              wide: { node: image.load, with: { path: "{{wide}}" } }
              square: { node: image.load, with: { path: "{{square}}" } }
              joined: { node: image.batch, in: { image1: square.image, image2: wide.image } }
              empty: { node: image.empty, with: { width: 3, height: 2, batch: 2, color: 16744193 } }
              repeated: { node: image.repeat, in: { image: joined.batched }, with: { amount: 3 } }
              picked: { node: image.from_batch, in: { image: repeated.repeated }, with: { batch_index: 3, length: 9 } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

        // The 4 × 2 image cropped to its middle 2 × 2 (columns 1 and 2: red 60 and 120), then resized 2 × 2 → 2 × 2.
        var joined = Assert.IsType<Image>(run.Result.Output("joined", "batched"));
        Assert.Equal((2, 2, 2), (joined.Batch, joined.Width, joined.Height));
        Assert.Equal(new[] { 60 / 255f, 120 / 255f, 60 / 255f, 120 / 255f }, joined.PixelsOf(1)[..4].ToArray());

        // 0xFF7F01: red 255, green 127, blue 1, over 255.
        var empty = Assert.IsType<Image>(run.Result.Output("empty", "image"));
        Assert.Equal((2, 3, 2), (empty.Batch, empty.Width, empty.Height));
        Assert.Equal(new[] { 1f, 127 / 255f, 1 / 255f }, new[] { empty.Pixels[5], empty.Pixels[6 + 5], empty.Pixels[2 * 18 - 1] });

        // Repeated: square, wide, square, wide, square, wide; from index 3, at most 3 remain: wide, square, wide.
        var picked = Assert.IsType<Image>(run.Result.Output("picked", "images"));
        Assert.Equal(3, picked.Batch);
        Assert.Equal(joined.PixelsOf(1).ToArray(), picked.PixelsOf(0).ToArray());
        Assert.Equal(joined.PixelsOf(0).ToArray(), picked.PixelsOf(1).ToArray());
    }

    [Fact]
    public async Task Batches_over_64_and_empty_images_over_the_pixel_limit_fail_their_node()
    {
        var run = await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: too many
            nodes:
              empty: { node: image.empty, with: { width: 8, height: 8, batch: 40 } }
              repeated: { node: image.repeat, in: { image: empty.image }, with: { amount: 2 } }
            """, new Dictionary<string, object?>());
        Assert.Equal((RunStatus.Failed, "repeated"), (run.Result.Status, run.Result.FailedNode));
        Assert.Contains("at most 64", run.Result.Error);

        run = await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: too large
            nodes:
              empty: { node: image.empty, with: { width: 16384, height: 16384 } }
            """, new Dictionary<string, object?>());
        Assert.Equal((RunStatus.Failed, "empty"), (run.Result.Status, run.Result.FailedNode));
        Assert.Contains("FlowDiffusion:MaxImagePixels", run.Result.Error);
    }
}
