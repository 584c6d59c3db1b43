using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.composite, image.crop and latent.repeat (ComfyUI's ImageCompositeMasked, ImageCrop and RepeatLatentBatch) on
/// drawn pictures: every value written out by hand.
/// </summary>
public sealed class ImageCompositeTests
{
    [Fact]
    public async Task Composite_pastes_through_the_mask_and_cuts_at_the_edges_crop_clamps_and_repeat_tiles_the_batch()
    {
        using var temp = new TempFolder();
        string destination = Path.Combine(temp.Path, "destination.png"), source = Path.Combine(temp.Path, "source.png"), mask = Path.Combine(temp.Path, "mask.png");
        // Destination 8 × 6 black with red = 10·x; source 4 × 3 with green = 50·(y + 1); mask 4 × 3: 255 in the first column, 51 elsewhere.
        TestPng.WriteRgb(destination, 8, 6, (x, _) => ((byte)(10 * x), 0, 0));
        TestPng.WriteRgb(source, 4, 3, (_, y) => (0, (byte)(50 * (y + 1)), 0));
        TestPng.WriteGray(mask, 4, 3, (x, _) => x == 0 ? (byte)255 : (byte)51);
        var yaml = $$"""
            flowdiffusion: 1
            name: composite
            nodes:
              destination: { node: image.load, with: { path: "{{destination}}" } }
              source: { node: image.load, with: { path: "{{source}}" } }
              mask: { node: mask.load, with: { path: "{{mask}}", channel: red } }
              pasted: { node: image.composite, in: { destination: destination.image, source: source.image, mask: mask.mask }, with: { x: 6, y: 4 } }
              whole: { node: image.composite, in: { destination: destination.image, source: source.image }, with: { resize_source: true } }
              crop: { node: image.crop, in: { image: destination.image }, with: { width: 5, height: 5, x: 6, y: 3 } }
              noise: { node: latent.noise, with: { width: 16, height: 8, batch: 2, seed: 4 } }
              repeat: { node: latent.repeat, in: { latent: noise.noise }, with: { amount: 3 } }
              small: { node: latent.noise, with: { width: 8, height: 8, batch: 1, seed: 9 } }
              latents: { node: latent.composite, in: { destination: noise.noise, source: small.noise }, with: { x: 8, y: 0 } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

        // At (6, 4) only the source's 2 × 2 top-left fits; its left column has mask 1 (source), its right 0.2.
        var pasted = Assert.IsType<Image>(run.Result.Output("pasted", "composited"));
        Assert.Equal((8, 6), (pasted.Width, pasted.Height));
        float R(Image image, int x, int y) => image.Pixels[y * image.Width + x];
        float G(Image image, int x, int y) => image.Pixels[image.Height * image.Width + y * image.Width + x];
        for (var y = 0; y < 6; y++)
        for (var x = 0; x < 8; x++)
        {
            var weight = x < 6 || y < 4 ? 0f : x == 6 ? 1f : 0.2f;
            var green = y < 4 ? 0f : 50 * (y - 3) / 255f;
            Assert.Equal((1 - weight) * 10 * x / 255f, R(pasted, x, y), 5);
            Assert.Equal(weight * green, G(pasted, x, y), 5);
        }

        // resize_source scales the source to 8 × 6 (bilinear) and, without a mask, replaces the destination.
        var whole = Assert.IsType<Image>(run.Result.Output("whole", "composited"));
        Assert.All(Enumerable.Range(0, 48), p => Assert.Equal(0f, whole.Pixels[p]));
        Assert.Equal(50 / 255f, G(whole, 3, 0), 5);
        Assert.Equal(150 / 255f, G(whole, 3, 5), 5);

        // 5 × 5 at (6, 3) on an 8 × 6 image: x 6–7, y 3–5.
        var crop = Assert.IsType<Image>(run.Result.Output("crop", "cropped"));
        Assert.Equal((2, 3), (crop.Width, crop.Height));
        Assert.Equal(70 / 255f, R(crop, 1, 2), 5);

        var noise = Assert.IsType<Latent>(run.Result.Output("noise", "noise")).ToArray();
        var repeated = Assert.IsType<Latent>(run.Result.Output("repeat", "repeated"));
        Assert.Equal(6, repeated.Batch);
        Assert.Equal(noise.Concat(noise).Concat(noise), repeated.ToArray());
        var tooMany = await SdEngine.Shared.RunYamlAsync(yaml.Replace("amount: 3", "amount: 33", StringComparison.Ordinal), new Dictionary<string, object?>());
        Assert.Equal("repeat", tooMany.Result.FailedNode);
        Assert.Contains("66 images; at most 64", tooMany.Result.Error);

        // The 1 × 1 source latent lands at latent column 1 (x 8 / 8) of both images; everything else is the destination's.
        var small = Assert.IsType<Latent>(run.Result.Output("small", "noise")).ToArray();
        var latents = Assert.IsType<Latent>(run.Result.Output("latents", "composited")).ToArray();
        for (var i = 0; i < latents.Length; i++)
        {
            var (channel, position) = (i / 2 % 4, i % 2);
            Assert.Equal(position == 1 ? small[channel] : noise[i], latents[i]);
        }
    }
}
