using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// latent.composite's feather and latent.crop (ComfyUI's LatentComposite and LatentCrop) on noise latents: the weight of
/// the source at each position, recovered as (result − destination) / (source − destination), against ComfyUI's loop
/// worked by hand, Python's slice wrap included; the crop's corner clamped 8 from the edge.
/// </summary>
public sealed class LatentCompositeFeatherTests
{
    [Fact]
    public async Task Feather_fades_the_inner_edges_as_ComfyUIs_loop_and_crop_moves_a_late_corner_back()
    {
        const string yaml = """
            flowdiffusion: 1
            name: feather
            nodes:
              destination: { node: latent.noise, with: { width: 64, height: 64, seed: 1 } }
              large: { node: latent.noise, with: { width: 32, height: 32, seed: 2 } }
              tiny: { node: latent.noise, with: { width: 16, height: 16, seed: 3 } }
              faded: { node: latent.composite, in: { destination: destination.noise, source: large.noise }, with: { x: 16, y: 16, feather: 16 } }
              wrapped: { node: latent.composite, in: { destination: destination.noise, source: tiny.noise }, with: { x: 16, y: 16, feather: 40 } }
              corner: { node: latent.composite, in: { destination: destination.noise, source: large.noise }, with: { x: 0, y: 32, feather: 16 } }
              wide: { node: latent.noise, with: { width: 128, height: 64, seed: 4 } }
              crop: { node: latent.crop, in: { latent: wide.noise }, with: { width: 64, height: 64, x: 72, y: 16 } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var destination = Assert.IsType<Latent>(run.Result.Output("destination", "noise"));

        // 4 × 4 at (2, 2) inside 8 × 8, feather 2: the outer ring × ½ on each side it has (corners ¼).
        float[] half = [0.5f, 1, 1, 0.5f];
        AssertWeights("faded", 2, 2, 4, (y, x) => half[y] * half[x]);
        // 2 × 2, feather 5: rows 0 and 1 get 1/5 and 2/5 from the top and bottom loops, and row 0 also 4/5 from the
        // bottom slice [−2:−1] that wraps to it (Python's slicing): 0.064 and 0.08, columns alike.
        float[] wrap = [0.064f, 0.08f];
        AssertWeights("wrapped", 2, 2, 2, (y, x) => wrap[y] * wrap[x]);
        // At the destination's left edge and reaching its bottom: only the top and right edges fade.
        AssertWeights("corner", 4, 0, 4, (y, x) => (y == 0 ? 0.5f : 1) * (x == 3 ? 0.5f : 1));

        // 64 × 64 at (72, 16) on 16 × 8 latents: x / 8 = 9 moves back to 16 − 8 = 8, y / 8 = 2 to 8 − 8 = 0.
        var wide = Assert.IsType<Latent>(run.Result.Output("wide", "noise"));
        var crop = Assert.IsType<Latent>(run.Result.Output("crop", "cropped"));
        Assert.Equal((8, 8), (crop.Width, crop.Height));
        for (var c = 0; c < 4; c++)
        for (var y = 0; y < 8; y++)
        for (var x = 0; x < 8; x++)
            Assert.Equal(wide.Values[(c * 8 + y) * 16 + 8 + x], crop.Values[(c * 8 + y) * 8 + x]);

        void AssertWeights(string node, int top, int left, int size, Func<int, int, float> weight)
        {
            var result = Assert.IsType<Latent>(run.Result.Output(node, "composited"));
            var source = Assert.IsType<Latent>(run.Result.Output(node == "wrapped" ? "tiny" : "large", "noise"));
            for (var c = 0; c < 4; c++)
            for (var y = 0; y < 8; y++)
            for (var x = 0; x < 8; x++)
            {
                var i = (c * 8 + y) * 8 + x;
                bool inside = y >= top && y < top + size && x >= left && x < left + size;
                var expected = inside
                    ? destination.Values[i] + weight(y - top, x - left) * (source.Values[(c * size + y - top) * size + x - left] - destination.Values[i])
                    : destination.Values[i];
                Assert.True(Math.Abs(expected - result.Values[i]) < 1e-5, $"{node} at channel {c}, ({x}, {y}): {result.Values[i]}, expected {expected}");
            }
        }
    }
}
