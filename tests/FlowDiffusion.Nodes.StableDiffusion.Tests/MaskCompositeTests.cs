using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// mask.composite, mask.crop and mask.feather (ComfyUI's MaskComposite, CropMask, FeatherMask) and the flips and quarter
/// turns (ImageFlip, ImageRotate, LatentFlip, LatentRotate) on drawn pictures: every value written out by hand.
/// </summary>
public sealed class MaskCompositeTests
{
    [Fact]
    public async Task Composite_combines_inside_the_overlap_clamps_and_rounds_half_to_even_crop_cuts_and_feather_keeps_ComfyUIs_edge_loop()
    {
        using var temp = new TempFolder();
        string destination = Path.Combine(temp.Path, "destination.png"), source = Path.Combine(temp.Path, "source.png");
        // destination 4 × 3: 0.2·x in column x; source 3 × 2: 0.4 in row 0, 0.6 in row 1.
        TestPng.WriteGray(destination, 4, 3, (x, _) => (byte)(51 * x));
        TestPng.WriteGray(source, 3, 2, (_, y) => (byte)(102 + 51 * y));
        string[] operations = ["multiply", "add", "subtract", "and", "or", "xor"];
        var yaml = $$"""
            flowdiffusion: 1
            name: masks
            nodes:
              destination: { node: mask.load, with: { path: "{{destination}}", channel: red } }
              source: { node: mask.load, with: { path: "{{source}}", channel: red } }
            {{string.Concat(operations.Select(o => $"  {o}: {{ node: mask.composite, in: {{ destination: destination.mask, source: source.mask }}, with: {{ x: 2, y: 1, operation: {o} }} }}\n"))}}
              half: { node: mask.solid, with: { value: 0.5, width: 2, height: 2 } }
              halves: { node: mask.composite, in: { destination: half.mask, source: half.mask }, with: { operation: or } }
              outside: { node: mask.composite, in: { destination: destination.mask, source: source.mask }, with: { x: 4, y: 0, operation: add } }
              crop: { node: mask.crop, in: { mask: destination.mask }, with: { x: 1, y: 1, width: 5, height: 5 } }
              one: { node: mask.solid, with: { value: 1, width: 5, height: 4 } }
              feather: { node: mask.feather, in: { mask: one.mask }, with: { left: 2, right: 3, bottom: 2 } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        float D(int x) => 51 * x / 255f;
        float S(int y) => (102 + 51 * y) / 255f;
        Func<float, float, float>[] expected =
        [
            (d, s) => d * s,
            (d, s) => Math.Clamp(d + s, 0, 1),
            (d, s) => Math.Clamp(d - s, 0, 1),
            (d, s) => d > 0.5f && s > 0.5f ? 1 : 0,
            (d, s) => d > 0.5f || s > 0.5f ? 1 : 0,
            (d, s) => (d > 0.5f) != (s > 0.5f) ? 1 : 0,
        ];
        for (var o = 0; o < operations.Length; o++)
        {
            var mask = Assert.IsType<Mask>(run.Result.Output(operations[o], "combined"));
            Assert.Equal((4, 3), (mask.Width, mask.Height));
            for (var y = 0; y < 3; y++)
            for (var x = 0; x < 4; x++)
            {
                // The source covers columns 2–3 (its first two) and rows 1–2.
                var want = x >= 2 && y >= 1 ? expected[o](D(x), S(y - 1)) : D(x);
                Assert.True(Math.Abs(want - mask.Values[y * 4 + x]) < 1e-6, $"{operations[o]} at ({x}, {y}): {mask.Values[y * 4 + x]}, expected {want}");
            }
        }

        // torch rounds 0.5 to 0, so 0.5 or 0.5 is 0; a source placed past the edge changes nothing.
        Assert.All(Assert.IsType<Mask>(run.Result.Output("halves", "combined")).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(Assert.IsType<Mask>(run.Result.Output("destination", "mask")).ToArray(), Assert.IsType<Mask>(run.Result.Output("outside", "combined")).ToArray());

        // 5 × 5 at (1, 1) on 4 × 3: columns 1–3, rows 1–2.
        var crop = Assert.IsType<Mask>(run.Result.Output("crop", "cropped"));
        Assert.Equal((3, 2), (crop.Width, crop.Height));
        Assert.Equal(new[] { D(1), D(2), D(3), D(1), D(2), D(3) }, crop.ToArray());

        // Columns: left 2 gives ×1/2, ×1 to columns 0, 1; right 3 runs ComfyUI's −0, −1, −2: column 0 ×1/3, column 4 ×2/3,
        // column 3 ×1. Rows: bottom 2 gives row 0 ×1/2 and row 3 ×1.
        var feather = Assert.IsType<Mask>(run.Result.Output("feather", "feathered"));
        double[] columns = [1 / 6.0, 1, 1, 1, 2 / 3.0], rows = [0.5, 1, 1, 1];
        for (var y = 0; y < 4; y++)
        for (var x = 0; x < 5; x++)
            Assert.True(Math.Abs(columns[x] * rows[y] - feather.Values[y * 5 + x]) < 1e-6, $"feather at ({x}, {y}): {feather.Values[y * 5 + x]}, expected {columns[x] * rows[y]}");
    }

    [Fact]
    public async Task Flips_and_quarter_turns_move_pixels_as_torch_flip_and_rot90_do()
    {
        using var temp = new TempFolder();
        var picture = Path.Combine(temp.Path, "picture.png");
        // 3 × 2 with red = 40·x + 100·y: rows (0, 40, 80) and (100, 140, 180).
        TestPng.WriteRgb(picture, 3, 2, (x, y) => ((byte)(40 * x + 100 * y), 0, 0));
        var yaml = $$"""
            flowdiffusion: 1
            name: transforms
            nodes:
              picture: { node: image.load, with: { path: "{{picture}}" } }
              vertical: { node: image.flip, in: { image: picture.image }, with: { flip_method: "x-axis: vertically" } }
              horizontal: { node: image.flip, in: { image: picture.image }, with: { flip_method: "y-axis: horizontally" } }
              r90: { node: image.rotate, in: { image: picture.image }, with: { rotation: 90 degrees } }
              r180: { node: image.rotate, in: { image: picture.image }, with: { rotation: 180 degrees } }
              r270: { node: image.rotate, in: { image: picture.image }, with: { rotation: 270 degrees } }
              noise: { node: latent.noise, with: { width: 24, height: 16, seed: 2 } }
              lflip: { node: latent.flip, in: { latent: noise.noise }, with: { flip_method: "y-axis: horizontally" } }
              lturn: { node: latent.rotate, in: { latent: noise.noise }, with: { rotation: 90 degrees } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        int[] Red(string node, string port, int width, int height)
        {
            var image = Assert.IsType<Image>(run.Result.Output(node, port));
            Assert.Equal((width, height), (image.Width, image.Height));
            return image.Pixels[..(width * height)].ToArray().Select(v => (int)Math.Round(v * 255)).ToArray();
        }

        Assert.Equal([100, 140, 180, 0, 40, 80], Red("vertical", "flipped", 3, 2));
        Assert.Equal([80, 40, 0, 180, 140, 100], Red("horizontal", "flipped", 3, 2));
        // Clockwise: the bottom-left corner (100) comes to the top-left.
        Assert.Equal([100, 0, 140, 40, 180, 80], Red("r90", "rotated", 2, 3));
        Assert.Equal([180, 140, 100, 80, 40, 0], Red("r180", "rotated", 3, 2));
        Assert.Equal([80, 180, 40, 140, 0, 100], Red("r270", "rotated", 2, 3));

        // Latents 3 wide, 2 high: the same rules on every channel.
        var noise = Assert.IsType<Latent>(run.Result.Output("noise", "noise"));
        var flipped = Assert.IsType<Latent>(run.Result.Output("lflip", "flipped"));
        var turned = Assert.IsType<Latent>(run.Result.Output("lturn", "rotated"));
        Assert.Equal((2, 3), (turned.Width, turned.Height));
        for (var c = 0; c < 4; c++)
        for (var y = 0; y < 2; y++)
        for (var x = 0; x < 3; x++)
        {
            Assert.Equal(noise.Values[(c * 2 + y) * 3 + 2 - x], flipped.Values[(c * 2 + y) * 3 + x]);
            // Output row x, column y comes from source row 1 − y, column x.
            Assert.Equal(noise.Values[(c * 2 + 1 - y) * 3 + x], turned.Values[(c * 3 + x) * 2 + y]);
        }
    }

    [Fact]
    public async Task A_crop_starting_outside_the_mask_and_mismatched_batches_fail_their_node()
    {
        var run = await SdEngine.Shared.RunYamlAsync("""
            flowdiffusion: 1
            name: outside
            nodes:
              solid: { node: mask.solid, with: { width: 4, height: 4 } }
              crop: { node: mask.crop, in: { mask: solid.mask }, with: { x: 4, width: 2, height: 2 } }
            """, new Dictionary<string, object?>());
        Assert.Equal((RunStatus.Failed, "crop"), (run.Result.Status, run.Result.FailedNode));
        Assert.Contains("x must be below 4", run.Result.Error);
    }
}
