using FlowDiffusion.Sdk.Values;

namespace MyNodes.Tests;

public sealed class BrightnessNodeTests
{
    [Fact]
    public async Task Factor_scales_pixels_and_clamps_to_one()
    {
        var image = new Image(1, 1, 2, [0.2f, 0.8f, 0.5f, 0.5f, 0.1f, 1.0f]);
        var node = new BrightnessNode { Image = image, Factor = 1.5 };
        var (context, recorder) = RecordingContext.Create();

        await node.ExecuteAsync(context, CancellationToken.None);

        Assert.Equal([0.3f, 1.0f, 0.75f, 0.75f, 0.15f, 1.0f], node.Result!.ToArray(), (a, b) => Math.Abs(a - b) < 1e-6f);
        Assert.Equal([0.2f, 0.8f, 0.5f, 0.5f, 0.1f, 1.0f], image.ToArray());
        Assert.Equal(1, recorder.Progress.Single().Step);
    }
}
