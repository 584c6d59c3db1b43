using System.Runtime.InteropServices;
using FlowDiffusion.Diffusion.Onnx;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

// Reads the process's resident set, so other classes' runs may not move it meanwhile.
[Collection(nameof(ProcessWideMeasurements))]
public sealed class NativeHeapTests
{
    private const int Block = 1 << 20;
    private const int Blocks = 64;

    [Theory]
    [InlineData(null, NativeHeap.DefaultThreshold)]
    [InlineData("", NativeHeap.DefaultThreshold)]
    [InlineData(" 4194304 ", 4194304)]
    [InlineData("0", 0)]
    [InlineData("dynamic", null)]
    [InlineData("Dynamic", null)]
    public void The_variable_gives_a_threshold_or_glibcs_dynamic_one(string? value, int? threshold) =>
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

    [Fact]
    public void With_the_threshold_fixed_freed_megabyte_blocks_leave_the_process_even_after_a_large_block_was_freed()
    {
        if (!File.Exists("/proc/self/status") || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null) return;
        Assert.Equal("131072", NativeHeap.Threshold);

        // glibc's dynamic threshold would rise to 16 MiB here, and the megabyte blocks below would then come from the heap,
        // where small blocks between them (kept) stop their freed space from being trimmed.
        var large = Marshal.AllocHGlobal(16 << 20);
        Touch(large, 16 << 20);
        Marshal.FreeHGlobal(large);

        var blocks = new nint[Blocks];
        var pins = new nint[Blocks];
        try
        {
            for (var i = 0; i < Blocks; i++)
            {
                blocks[i] = Marshal.AllocHGlobal(Block);
                Touch(blocks[i], Block);
                pins[i] = Marshal.AllocHGlobal(64);
            }

            var held = ResidentSet.AnonymousBytes();
            for (var i = 0; i < Blocks; i++)
            {
                Marshal.FreeHGlobal(blocks[i]);
                blocks[i] = 0;
            }

            var freed = ResidentSet.AnonymousBytes();
            // At least 48 of the 64 MiB went back (16 MiB of slack for the rest of the process moving meanwhile).
            Assert.True(held - freed >= (Blocks - 16L) * Block, $"{held >> 20} MiB before freeing the blocks, {freed >> 20} MiB after");
        }
        finally
        {
            foreach (var block in blocks) Marshal.FreeHGlobal(block);
            foreach (var pin in pins) Marshal.FreeHGlobal(pin);
        }
    }

    // Writes a byte on every page, so each is resident.
    private static void Touch(nint start, int length)
    {
        for (var i = 0; i < length; i += 4096) Marshal.WriteByte(start, i, 1);
    }
}
