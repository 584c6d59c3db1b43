using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Engine.Tests.Security;

/// <summary>The output cache is bounded by the bytes its outputs hold, not only by their count.</summary>
public sealed class OutputCacheMemoryTests
{
    private static Dictionary<string, object?> ImageOutput(int side) => new() { ["image"] = new Image(1, side, side, new float[3 * side * side]) };

    [Fact]
    public void Large_images_evict_the_least_recently_used_until_the_bytes_fit()
    {
        // Each 256² RGB float image holds 786,432 bytes; room for three.
        var cache = new OutputCache(capacity: 1024, maxBytes: 3 * 786_432);
        for (var i = 0; i < 25; i++) cache.Set($"upload{i}", ImageOutput(256));

        Assert.Equal(3, cache.Count);
        Assert.Equal(3 * 786_432, cache.Bytes);
        Assert.True(cache.TryGet("upload24", out _));
        Assert.False(cache.TryGet("upload21", out _));
    }

    [Fact]
    public void An_output_larger_than_the_whole_bound_is_not_kept_and_evicts_nothing()
    {
        var cache = new OutputCache(capacity: 1024, maxBytes: 1_000_000);
        cache.Set("small", ImageOutput(16));

        cache.Set("huge", ImageOutput(1024));

        Assert.False(cache.TryGet("huge", out _));
        Assert.True(cache.TryGet("small", out _));
        Assert.Equal(4L * 3 * 16 * 16, cache.Bytes);
    }

    [Fact]
    public void Replacing_an_entry_and_clearing_keep_the_byte_count_exact()
    {
        var cache = new OutputCache(capacity: 8, maxBytes: long.MaxValue);
        cache.Set("a", ImageOutput(64));
        cache.Set("a", ImageOutput(32));
        cache.Set("list", new Dictionary<string, object?> { ["previews"] = new[] { new Image(1, 8, 8, new float[192]), new Image(1, 8, 8, new float[192]) } });

        Assert.Equal(4L * 3 * 32 * 32 + 256 + 2 * 768, cache.Bytes);
        cache.Clear();
        Assert.Equal(0, cache.Bytes);
    }
}
