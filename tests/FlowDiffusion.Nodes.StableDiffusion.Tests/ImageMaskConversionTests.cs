using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// mask.from_image and image.from_mask (ComfyUI's ImageToMask and MaskToImage) on a drawn picture, and image.resize to a
/// pixel count (ImageScaleToTotalPixels): values and sizes written out by hand.
/// </summary>
public sealed class ImageMaskConversionTests
{
    [Fact]
    public async Task A_channel_becomes_a_mask_a_mask_a_grey_image_and_megapixels_keep_the_aspect_ratio()
    {
        using var temp = new TempFolder();
        var file = Path.Combine(temp.Path, "drawn.png");
        // 20 × 10: red = 10·x, green = 20·y, blue = 255 − 10·x.
        TestPng.WriteRgb(file, 20, 10, (x, y) => ((byte)(10 * x), (byte)(20 * y), (byte)(255 - 10 * x)));
        var yaml = $$"""
            flowdiffusion: 1
            name: image and mask
            nodes:
              image: { node: image.load, with: { path: "{{file}}" } }
              green: { node: mask.from_image, in: { image: image.image }, with: { channel: green } }
              blue: { node: mask.from_image, in: { image: image.image }, with: { channel: blue } }
              grey: { node: image.from_mask, in: { mask: green.mask } }
              small: { node: image.resize, in: { image: image.image }, with: { megapixels: 0.0001 } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

        var green = Assert.IsType<Mask>(run.Result.Output("green", "mask"));
        var blue = Assert.IsType<Mask>(run.Result.Output("blue", "mask"));
        var grey = Assert.IsType<Image>(run.Result.Output("grey", "image"));
        Assert.Equal((1, 10, 20), (green.Batch, green.Height, green.Width));
        Assert.Equal((10, 20), (grey.Height, grey.Width));
        for (var y = 0; y < 10; y++)
        for (var x = 0; x < 20; x++)
        {
            var p = y * 20 + x;
            Assert.Equal(20 * y / 255f, green.Values[p], 6);
            Assert.Equal((255 - 10 * x) / 255f, blue.Values[p], 6);
            for (var c = 0; c < 3; c++) Assert.Equal(20 * y / 255f, grey.Pixels[c * 200 + p], 6);
        }

        // ⌊0.0001 · 1024²⌋ = 104 pixels of 200: each side × √0.52, 14.42 → 14 and 7.21 → 7.
        var small = Assert.IsType<Image>(run.Result.Output("small", "resized"));
        Assert.Equal((14, 7), (small.Width, small.Height));
    }
}
