using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.resize's largest_size (ComfyUI's ImageScaleToMaxDimension): the longer side becomes largest_size and the other
/// round(side / longer side × largest_size) with Python's half-to-even rounding; a square becomes largest_size².
/// </summary>
public sealed class ImageResizeLargestSizeTests
{
    [Theory]
    // 10 × 4 → 25 × 10 (4/10·25 = 10); 4 × 10 → 10 × 25.
    [InlineData(10, 4, 25, 25, 10)]
    [InlineData(4, 10, 25, 10, 25)]
    // 8 × 3 to 4: 3/8·4 = 1.5 rounds to 2 (half to even); to 12: 4.5 rounds to 4, not 5.
    [InlineData(8, 3, 4, 4, 2)]
    [InlineData(8, 3, 12, 12, 4)]
    // A square: largest_size on both sides.
    [InlineData(6, 6, 9, 9, 9)]
    public async Task The_longer_side_becomes_largest_size(int width, int height, int largest, int newWidth, int newHeight)
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "in.png");
        TestPng.WriteRgb(path, width, height, (x, y) => ((byte)(x * 20), (byte)(y * 20), 100));
        var yaml = $$"""
            flowdiffusion: 1
            name: largest
            nodes:
              load: { node: image.load, with: { path: "{{path}}" } }
              resized: { node: image.resize, in: { image: load.image }, with: { largest_size: {{largest}}, method: area } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var resized = Assert.IsType<Image>(run.Result.Output("resized", "resized"));
        Assert.Equal((newWidth, newHeight), (resized.Width, resized.Height));
    }

    [Fact]
    public async Task A_shorter_side_rounding_to_0_is_an_error_naming_largest_size()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "thin.png");
        TestPng.WriteRgb(path, 40, 1, (_, _) => (0, 0, 0));
        var yaml = $$"""
            flowdiffusion: 1
            name: thin
            nodes:
              load: { node: image.load, with: { path: "{{path}}" } }
              resized: { node: image.resize, in: { image: load.image }, with: { largest_size: 10 } }
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Equal(("resized", RunStatus.Failed), (run.Result.FailedNode, run.Result.Status));
        Assert.Contains("largest_size 10 makes this 40×1 image 10×0 pixels", run.Result.Error);
    }
}
