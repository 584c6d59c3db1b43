using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>image.save's PNGs are lossless: reading one back gives each pixel rounded to the nearest of 256 levels.</summary>
public sealed class PngOutputTests
{
    private const string LoadYaml = """
        flowdiffusion: 1
        name: load
        inputs:
          path: { type: string }
        nodes:
          image:
            node: image.load
            with:
              path: $path
        """;

    [Fact]
    public async Task Saved_pngs_read_back_as_every_pixel_rounded_half_to_even()
    {
        // tiny-sd's output covers most byte values in every channel; a non-square batch of 2 catches swapped axes and items.
        using var engine = new SdEngine();
        var run = (await engine.RunFileAsync("txt2img.yaml", Inputs.Of("tiny-sd", "a red circle", steps: 2, cfg: 7.5, batch: 2)
            .With("width", "96").With("height", "64"))).AssertCompleted();
        var decoded = run.Image();
        Assert.Equal(2, run.Result.OutputFiles.Count);

        for (var i = 0; i < 2; i++)
        {
            var saved = Assert.IsType<Image>((await engine.RunYamlAsync(LoadYaml, new Dictionary<string, object?> { ["path"] = run.Result.OutputFiles[i] }))
                .AssertCompleted().Result.Output("image", "image"));
            Assert.Equal((64, 96), (saved.Height, saved.Width));
            var expected = decoded.PixelsOf(i);
            var actual = saved.Pixels;
            var levels = new HashSet<int>();
            for (var p = 0; p < expected.Length; p++)
            {
                var level = (int)Math.Clamp(MathF.Round(expected[p] * 255f, MidpointRounding.ToEven), 0, 255);
                levels.Add(level);
                Assert.True(level / 255f == actual[p], $"image {i}, value {p}: {expected[p]} was saved as {actual[p] * 255f}/255, not {level}/255");
            }
            Assert.True(levels.Count > 100, $"only {levels.Count} distinct levels: the test image is too flat to pin the encoder");
        }
    }

    [Fact]
    public async Task Saving_a_loaded_png_and_loading_it_again_gives_the_same_pixels()
    {
        using var engine = new SdEngine();
        const string yaml = """
            flowdiffusion: 1
            name: resave
            nodes:
              image:
                node: image.load
                with:
                  path: workflows/assets/landscape.png
              save:
                node: image.save
                in:
                  images: image.image
                with:
                  prefix: resave
            """;
        var first = (await engine.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var original = first.Image("image", "image");
        var file = Assert.Single(first.Result.OutputFiles);

        var again = Assert.IsType<Image>((await engine.RunYamlAsync(LoadYaml, new Dictionary<string, object?> { ["path"] = file }))
            .AssertCompleted().Result.Output("image", "image"));

        Assert.Equal((original.Height, original.Width), (again.Height, again.Width));
        Assert.True(original.Pixels.SequenceEqual(again.Pixels), "the re-saved PNG has other pixels than the one it was loaded from");
    }

    [Fact]
    public async Task Loaded_images_and_masks_hold_each_files_exact_levels_in_place()
    {
        // R = x, G = y, B = x + y (mod 256): a swapped channel, a transposed or shifted pixel, a wrong level shows.
        using var scratch = new TempFolder();
        var file = Path.Combine(scratch.Path, "ramp.png");
        TestPng.WriteRgb(file, 256, 192, (x, y) => ((byte)x, (byte)y, (byte)(x + y)));
        const string yaml = """
            flowdiffusion: 1
            name: load-both
            inputs:
              path: { type: string }
            nodes:
              image: { node: image.load, with: { path: $path } }
              mask: { node: mask.load, with: { path: $path, width: 256, height: 192 } }
            """;

        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?> { ["path"] = file })).AssertCompleted();

        var image = Assert.IsType<Image>(run.Result.Output("image", "image"));
        var mask = Assert.IsType<Mask>(run.Result.Output("mask", "mask"));
        Assert.Equal((192, 256), (image.Height, image.Width));
        const int plane = 256 * 192;
        for (var y = 0; y < 192; y += 7)
        for (var x = 0; x < 256; x += 5)
        {
            var i = y * 256 + x;
            Assert.Equal((x / 255f, y / 255f, (byte)(x + y) / 255f), (image.Pixels[i], image.Pixels[plane + i], image.Pixels[2 * plane + i]));
            Assert.Equal((0.299f * x + 0.587f * y + 0.114f * (byte)(x + y)) / 255f, mask.Values[i]);
        }
    }
}
