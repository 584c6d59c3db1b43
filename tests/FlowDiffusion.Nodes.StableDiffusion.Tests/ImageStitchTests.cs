using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.stitch (ComfyUI's ImageStitch) and image.resize_and_pad (ResizeAndPadImage) on solid images, every pixel checked
/// against the layout ComfyUI's code gives: centring with the extra pixel after, spacing widened to even, padding white or
/// black (black for the coloured spacings), Python's truncation of scaled sides, the shorter batch filled with its last image.
/// </summary>
public sealed class ImageStitchTests
{
    // The colours of image.empty's color 3368601 (0x336699) and 13369395 (0xCC0033).
    private static readonly float[] A = [0x33 / 255f, 0x66 / 255f, 0x99 / 255f], B = [0xCC / 255f, 0f, 0x33 / 255f];

    [Fact]
    public async Task Stitching_without_matching_pads_the_shorter_image_and_puts_the_spacing_between()
    {
        var run = await Run("""
            a: { node: image.empty, with: { width: 6, height: 4, color: 3368601 } }
            b: { node: image.empty, with: { width: 3, height: 7, color: 13369395 } }
            out: { node: image.stitch, in: { image1: a.image, image2: b.image }, with: { direction: right, match_image_size: false, spacing_width: 3, spacing_color: blue } }
            """);
        var image = Output(run, "out", "stitched");

        // 6 + 4 (3 made even) + 3 wide, 7 high; image1 on rows 1 … 4 ((7 − 4) / 2 = 1 above, 2 below), black around it.
        Assert.Equal((1, 7, 13), (image.Batch, image.Height, image.Width));
        AssertPixels(image, 0, (y, x) => x < 6 ? (y is >= 1 and <= 4 ? A : [0f, 0f, 0f]) : x < 10 ? [0f, 0f, 1f] : B);
    }

    [Fact]
    public async Task Stitching_up_with_matching_scales_image2_to_image1s_width_and_fills_the_batch_with_the_last_image()
    {
        var run = await Run("""
            a: { node: image.empty, with: { width: 8, height: 6, color: 3368601 } }
            b: { node: image.empty, with: { width: 4, height: 2, batch: 2, color: 13369395 } }
            out: { node: image.stitch, in: { image1: a.image, image2: b.image }, with: { direction: up, match_image_size: true, spacing_width: 0 } }
            alone: { node: image.stitch, in: { image1: a.image } }
            """);
        var image = Output(run, "out", "stitched");

        // image2 (aspect 2) at image1's width 8 is 8 × int(8 / 2) = 4 high, above image1; image1 repeated for the second item.
        Assert.Equal((2, 10, 8), (image.Batch, image.Height, image.Width));
        for (var b = 0; b < 2; b++) AssertPixels(image, b, (y, _) => y < 4 ? B : A, 1e-5f);
        Assert.Same(run.Result.Output("a", "image"), run.Result.Output("alone", "stitched"));
    }

    [Fact]
    public async Task Resize_and_pad_truncates_the_scaled_sides_as_Python_does_and_centres_the_image()
    {
        var run = await Run("""
            a: { node: image.empty, with: { width: 11, height: 5, color: 3368601 } }
            black: { node: image.resize_and_pad, in: { image: a.image }, with: { target_width: 15, target_height: 15, padding_color: black, interpolation: nearest-exact } }
            white: { node: image.resize_and_pad, in: { image: a.image }, with: { target_width: 30, target_height: 9, padding_color: white, interpolation: area } }
            """);

        // Scale 15 / 11: 11 · (15 / 11) is 14.999… in doubles, so 14 wide; int(5 · 15 / 11) = 6 high; offsets 0 and (15 − 6) / 2 = 4.
        var black = Output(run, "black", "padded");
        Assert.Equal((15, 15), (black.Height, black.Width));
        AssertPixels(black, 0, (y, x) => x < 14 && y is >= 4 and < 10 ? A : [0f, 0f, 0f]);

        // Scale min(30 / 11, 9 / 5) = 1.8: 19 × 9, offset (30 − 19) / 2 = 5; white around it.
        var white = Output(run, "white", "padded");
        Assert.Equal((9, 30), (white.Height, white.Width));
        AssertPixels(white, 0, (_, x) => x is >= 5 and < 24 ? A : [1f, 1f, 1f], 1e-6f);
    }

    [Fact]
    public async Task A_side_scaled_to_nothing_fails_the_node()
    {
        var run = await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: thin
            nodes:
              a: { node: image.empty, with: { width: 64, height: 1, color: 0 } }
              out: { node: image.resize_and_pad, in: { image: a.image }, with: { target_width: 8, target_height: 8 } }
            """, new Dictionary<string, object?>());
        Assert.Equal((RunStatus.Failed, "out"), (run.Result.Status, run.Result.FailedNode));
        Assert.Contains("would be 8×0", run.Result.Error, StringComparison.Ordinal);
    }

    private static async Task<SdRun> Run(string nodes)
    {
        var yaml = "flowdiffusion: 1\nname: stitch\nnodes:\n" + string.Join('\n', nodes.Split('\n').Select(l => "  " + l));
        return (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
    }

    private static Image Output(SdRun run, string node, string port) => Assert.IsType<Image>(run.Result.Output(node, port));

    private static void AssertPixels(Image image, int b, Func<int, int, float[]> expected, float tolerance = 0)
    {
        var pixels = image.PixelsOf(b);
        var plane = image.Height * image.Width;
        for (var y = 0; y < image.Height; y++)
        for (var x = 0; x < image.Width; x++)
        for (var c = 0; c < 3; c++)
        {
            var (want, got) = (expected(y, x)[c], pixels[c * plane + y * image.Width + x]);
            Assert.True(Math.Abs(want - got) <= tolerance, $"item {b} ({x}, {y}) channel {c}: expected {want}, got {got}");
        }
    }
}
