using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

public sealed class OnnxArenaReleaseModeTests
{
    [Theory]
    [InlineData(null, OnnxArenaReleaseMode.Auto)]
    [InlineData("", OnnxArenaReleaseMode.Auto)]
    [InlineData("auto", OnnxArenaReleaseMode.Auto)]
    [InlineData(" Always ", OnnxArenaReleaseMode.Always)]
    [InlineData("NEVER", OnnxArenaReleaseMode.Never)]
    public void The_variable_names_the_mode_in_any_case(string? value, OnnxArenaReleaseMode mode) =>
        Assert.Equal(mode, OnnxArenaRelease.ModeFrom(value));

    [Theory]
    [InlineData("yes")]
    [InlineData("1")]
    [InlineData("off")]
    public void Another_value_is_refused_with_the_variables_name_and_the_choices(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => OnnxArenaRelease.ModeFrom(value));
        Assert.Contains("FLOWDIFFUSION_ARENA_RELEASE", error.Message);
        Assert.Contains($"'{value}'", error.Message);
        Assert.Contains("auto, always or never", error.Message);
    }

    [Theory]
    // SD 1.5 at 512², SDXL at 768², a 1024² SDXL batch of two, 1024×768, 1152×896 (just below 128² in area), 1152×1024.
    [InlineData(1, 64, 64, false)]
    [InlineData(1, 96, 96, false)]
    [InlineData(2, 128, 128, true)]
    [InlineData(1, 96, 128, false)]
    [InlineData(1, 112, 144, false)]
    [InlineData(1, 128, 144, true)]
    public void Auto_releases_from_128_by_128_latents_a_batch_item_always_and_never_whatever_the_size(int batch, int height, int width, bool auto)
    {
        var shape = new LatentShape(batch, 4, height, width);
        Assert.Equal(auto, OnnxArenaRelease.AfterLoop(shape, OnnxArenaReleaseMode.Auto));
        Assert.True(OnnxArenaRelease.AfterLoop(shape, OnnxArenaReleaseMode.Always));
        Assert.False(OnnxArenaRelease.AfterLoop(shape, OnnxArenaReleaseMode.Never));
    }
}
