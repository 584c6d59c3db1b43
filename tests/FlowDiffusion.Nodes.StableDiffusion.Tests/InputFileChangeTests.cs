using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.load and mask.load follow their file: a later run in the same engine reads an image or mask replaced in place
/// (the file's size and modification time are part of the node's cache key), while an unchanged file stays cached.
/// </summary>
public sealed class InputFileChangeTests
{
    [Fact]
    public async Task Image_load_reads_a_replaced_file_again_and_keeps_an_unchanged_one_cached()
    {
        using var engine = new SdEngine();
        using var folder = new TempFolder();
        var file = Path.Combine(folder.Path, "input.png");
        TestPng.WriteGray(file, 16, 8, (_, _) => 51);
        var yaml = $"flowdiffusion: 1\nname: image\nnodes:\n  load: {{ node: image.load, with: {{ path: \"{file}\" }} }}\n";

        var first = await RunAsync(engine, yaml);
        Assert.Equal(0, first.CachedCount("load"));
        AssertAll(51 / 255f, Assert.IsType<Image>(first.Result.Output("load", "image")).ToArray());

        var unchanged = await RunAsync(engine, yaml);
        Assert.Equal(1, unchanged.CachedCount("load"));

        Replace(file, () => TestPng.WriteGray(file, 16, 8, (_, _) => 204));
        var replaced = await RunAsync(engine, yaml);
        Assert.Equal(0, replaced.CachedCount("load"));
        AssertAll(204 / 255f, Assert.IsType<Image>(replaced.Result.Output("load", "image")).ToArray());
    }

    [Fact]
    public async Task Mask_load_reads_a_replaced_file_again_and_keeps_an_unchanged_one_cached()
    {
        using var engine = new SdEngine();
        using var folder = new TempFolder();
        var file = Path.Combine(folder.Path, "mask.png");
        TestPng.WriteGray(file, 16, 8, (_, _) => 255);
        var yaml = $"flowdiffusion: 1\nname: mask\nnodes:\n  load: {{ node: mask.load, with: {{ path: \"{file}\" }} }}\n";

        var first = await RunAsync(engine, yaml);
        AssertAll(1f, Assert.IsType<Mask>(first.Result.Output("load", "mask")).ToArray());

        var unchanged = await RunAsync(engine, yaml);
        Assert.Equal(1, unchanged.CachedCount("load"));

        Replace(file, () => TestPng.WriteGray(file, 16, 8, (_, _) => 0));
        var replaced = await RunAsync(engine, yaml);
        Assert.Equal(0, replaced.CachedCount("load"));
        AssertAll(0f, Assert.IsType<Mask>(replaced.Result.Output("load", "mask")).ToArray());
    }

    private static async Task<SdRun> RunAsync(SdEngine engine, string yaml) =>
        (await engine.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

    // Rewrites the file in place; the modification time is moved on explicitly, as file systems with coarse timestamps
    // could otherwise give the rewrite the same one (the new file here has the same size too).
    private static void Replace(string file, Action write)
    {
        var before = File.GetLastWriteTimeUtc(file);
        write();
        File.SetLastWriteTimeUtc(file, before.AddSeconds(2));
    }

    private static void AssertAll(float expected, float[] values)
    {
        Assert.NotEmpty(values);
        Assert.All(values, v => Assert.Equal(expected, v, 1e-4f));
    }
}
