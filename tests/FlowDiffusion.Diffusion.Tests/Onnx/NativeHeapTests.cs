using FlowDiffusion.Diffusion.Onnx;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

public sealed class NativeHeapTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData(" 4194304 ", 4194304)]
    [InlineData("0", 0)]
    [InlineData("dynamic", null)]
    [InlineData("Dynamic", null)]
    public void The_variable_fixes_a_threshold_or_leaves_glibcs_dynamic_one(string? value, int? threshold) =>
        Assert.Equal(threshold, NativeHeap.ThresholdFrom(value));

    [Theory]
    [InlineData("-1")]
    [InlineData("33554433")]
    [InlineData("1MB")]
    public void Another_value_is_refused_with_the_variables_name(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => NativeHeap.ThresholdFrom(value));
        Assert.Contains("FLOWDIFFUSION_MMAP_THRESHOLD", error.Message);
        Assert.Contains($"'{value}'", error.Message);
    }
}
