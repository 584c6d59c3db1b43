using Xunit.Abstractions;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>vae.decode_tiled and vae.encode_tiled against the one-pass nodes on the shipped models, and their memory.</summary>
[Collection(nameof(AllocationSensitive))]
public sealed class VaeTiledTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("models/shapes-sd", 0.025)]
    [InlineData("models/tiny-sd", 0.033)]
    public async Task Tiled_vae_decode_and_encode_stay_close_to_one_pass(string model, double decodeTolerance)
    {
        var run = (await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: vae-tiles
            nodes:
              model: { node: model.load, with: { path: {{model}} } }
              image: { node: image.load, with: { path: workflows/assets/landscape.png, width: 256, height: 192 } }
              encode: { node: vae.encode, in: { vae: model.vae, image: image.image } }
              encode_tiled: { node: vae.encode_tiled, in: { vae: model.vae, image: image.image }, with: { tile_size: 128, overlap: 32 } }
              decode: { node: vae.decode, in: { vae: model.vae, latent: encode.latent } }
              decode_tiled: { node: vae.decode_tiled, in: { vae: model.vae, latent: encode.latent }, with: { tile_size: 128, overlap: 32 } }
              decode_whole: { node: vae.decode_tiled, in: { vae: model.vae, latent: encode.latent }, with: { tile_size: 256, overlap: 0 } }
            """, new Dictionary<string, object?>())).AssertCompleted();
        var whole = run.Image("decode").ToArray();
        Assert.Equal(whole, run.Image("decode_whole").ToArray()); // one tile covering everything is the one-pass decode
        var tiled = run.Image("decode_tiled");
        Assert.Equal((256, 192), (tiled.Width, tiled.Height));
        var (decodeMean, decodeMax) = Difference(whole, tiled.ToArray());
        var (encodeMean, encodeMax) = Difference(run.Latent("encode", "latent").ToArray(), run.Latent("encode_tiled", "latent").ToArray());
        output.WriteLine($"{model}: decode mean {decodeMean:G3} max {decodeMax:G3}; encode mean {encodeMean:G3} max {encodeMax:G3}");
        // Stated tolerance (pixels in [0, 1], latents scaled), measured at 128-pixel tiles: shapes-sd decode mean 0.020,
        // max 0.29 (the decode shifted one latent pixel: 0.033), encode 0.030 / 0.18; tiny-sd decode 0.027 / 0.34
        // (shifted: 0.058), encode 0.007 / 0.05. Not exact: the VAE's group norms and mid-block attention see one tile.
        Assert.True(decodeMean < decodeTolerance && decodeMax < 0.5, $"decode: mean {decodeMean}, max {decodeMax}");
        Assert.True(encodeMean < 0.05 && encodeMax < 0.3, $"encode: mean {encodeMean}, max {encodeMax}");

        // The mean tolerance is tight enough to catch tiles misplaced by one latent pixel (the decode shifted 8 pixels).
        var (shiftedMean, _) = Difference(whole[8..], tiled.ToArray()[..^8]);
        Assert.True(shiftedMean > decodeTolerance, $"shifted by 8 pixels: mean {shiftedMean}, within the tolerance {decodeTolerance}");
    }

    [Fact]
    public async Task A_large_tiled_decode_allocates_one_tile_beyond_the_image()
    {
        var setup = """
            flowdiffusion: 1
            name: vae-tiles-memory
            nodes:
              model: { node: model.load, with: { path: models/tiny-sd } }
              noise: { node: latent.noise, with: { seed: 3, width: 1024, height: 1024 } }
            """;
        (await SdEngine.Shared.RunYamlAsync(setup, new Dictionary<string, object?>())).AssertCompleted();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var run = (await SdEngine.Shared.RunYamlAsync(setup + """

              decode: { node: vae.decode_tiled, in: { vae: model.vae, latent: noise.noise }, with: { tile_size: 256, overlap: 64 } }
            """, new Dictionary<string, object?>())).AssertCompleted();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        var image = run.Image("decode");
        Assert.Equal((1024, 1024), (image.Width, image.Height));
        var bytes = 3L * 1024 * 1024 * sizeof(float);
        output.WriteLine($"allocated {allocated / 1048576.0:F2} MB for a {bytes / 1048576.0:F2} MB image ({run.Steps("decode").Count} tiles)");
        // 25 tiles of 256×256 (0.75 MB each): a tile image per tile would add 19 MB.
        Assert.Equal(25, run.Steps("decode").Count);
        Assert.True(allocated < bytes + (4L << 20), $"allocated {allocated / 1048576.0:F1} MB for a {bytes / 1048576.0:F1} MB image");
    }

    private static (double Mean, double Max) Difference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        var differences = a.Zip(b, (x, y) => (double)Math.Abs(x - y)).ToArray();
        return (differences.Average(), differences.Max());
    }
}
