namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// mask.grow against ComfyUI's grow_mask_by written out by hand: conv2d of round(mask) with a k × k box of ones, zero padding
/// p = ⌈(k − 1)/2⌉, the top-left H × W of the result, clamped to 1. A lone pixel at (y0, x0) grows to rows
/// y0 + p − k + 1 … y0 + p and the same columns (asymmetric for even k); a pixel that rounds to 0 grows nothing.
/// </summary>
public sealed class MaskGrowTests
{
    [Theory]
    [InlineData(6, -2, 3)]
    [InlineData(5, -2, 2)]
    [InlineData(1, 0, 0)]
    public async Task A_pixel_grows_to_comfyuis_box_and_a_value_rounding_to_zero_does_not(int k, int from, int to)
    {
        using var temp = new TempFolder();
        var file = Path.Combine(temp.Path, "dots.png");
        // White at (y 7, x 10) and at the corner (0, 31); 127/255 ≈ 0.498 at (18, 20) rounds to 0 (128/255 would round to 1).
        TestPng.WriteGray(file, 32, 24, (x, y) => (y, x) switch { (7, 10) or (0, 31) => 255, (18, 20) => 127, _ => 0 });
        var yaml = $$"""
            flowdiffusion: 1
            name: grow
            nodes:
              mask: { node: mask.load, with: { path: "{{file}}" } }
              grow: { node: mask.grow, in: { mask: mask.mask }, with: { pixels: {{k}} } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var grown = Assert.IsType<Sdk.Values.Mask>(run.Result.Output("grow", "grown"));

        Assert.Equal((1, 24, 32), (grown.Batch, grown.Height, grown.Width));
        bool Near(int y, int x, int y0, int x0) => y >= y0 + from && y <= y0 + to && x >= x0 + from && x <= x0 + to;
        var values = grown.Values.ToArray();
        for (var y = 0; y < 24; y++)
        for (var x = 0; x < 32; x++)
        {
            var expected = Near(y, x, 7, 10) || Near(y, x, 0, 31) ? 1f : 0f;
            Assert.True(expected == values[y * 32 + x], $"k {k}: pixel (y {y}, x {x}) is {values[y * 32 + x]}, expected {expected}");
        }
    }
}
