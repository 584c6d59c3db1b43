using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests;

/// <summary>A run re-queued after a crash starts from an empty output folder, so its outputs are exactly one set.</summary>
public sealed class RerunOutputTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private SqliteRunStore Store() => new(Path.Combine(_folder.Path, "data", FlowDiffusionServerServiceCollectionExtensions.DatabaseFile));

    /// <summary>What kill -9 leaves behind: the run marked running on its first attempt (the database says so).</summary>
    private async Task<string> CrashedRunAsync(RunSubmission submission)
    {
        var store = Store();
        var id = (await store.AddAsync(submission, default)).Run.Id;
        Assert.Equal(id, (await store.ClaimNextAsync(default))!.Id);
        return id;
    }

    private string RunFolder(string id) => Path.Combine(_folder.Path, "outputs", id);

    [Fact]
    public async Task Txt2img_rerun_after_a_crash_leaves_one_png_not_the_crashed_attempts_as_well()
    {
        var yaml = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "workflows", "txt2img.yaml"));
        var inputs = """{"model":"models/analytic-sd","prompt":"a blue ball","cfg":1,"width":64,"height":64,"steps":4}""";
        var id = await CrashedRunAsync(new RunSubmission(yaml, inputs, "txt2img"));
        // The crashed attempt got as far as image.save: a half-written PNG under the name the re-run would claim first.
        Directory.CreateDirectory(RunFolder(id));
        await File.WriteAllBytesAsync(Path.Combine(RunFolder(id), "txt2img_00001.png"), [0x89, (byte)'P', (byte)'N', (byte)'G']);

        await using var host = await ApiHost.StartAsync(_folder.Path, RepositoryRoot.StableDiffusionSettings);
        var run = await host.WaitAsync(id, TimeSpan.FromMinutes(2));

        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Equal(2, run["attempts"]!.GetValue<int>());
        Assert.Equal("txt2img_00001.png", Assert.Single(run["outputs"]!.AsArray())!["file"]!.GetValue<string>());
        Assert.Equal(["txt2img_00001.png"], Directory.GetFiles(RunFolder(id)).Select(Path.GetFileName));
        // The listed file is the re-run's image (blue for a blue prompt), not the crashed attempt's four bytes.
        var (width, height, r, g, b) = Images.Measure(await File.ReadAllBytesAsync(Path.Combine(RunFolder(id), "txt2img_00001.png")));
        Assert.Equal((64, 64), (width, height));
        Assert.Equal((0.0, 0.0, 1.0), (Math.Round(r, 1), Math.Round(g, 1), Math.Round(b, 1)));
    }

    [Fact]
    public async Task Clearing_a_rerun_touches_only_that_runs_folder_and_never_follows_links_out_of_it()
    {
        var id = await CrashedRunAsync(new RunSubmission(Workflows.Sum, "{\"a\":1}"));
        var neighbour = Path.Combine(_folder.Path, "outputs", "0123456789abcdef0123456789abcdef", "value-sink.txt");
        var outside = Path.Combine(_folder.Path, "precious", "keep.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(neighbour)!);
        Directory.CreateDirectory(Path.GetDirectoryName(outside)!);
        await File.WriteAllTextAsync(neighbour, "another run's output");
        await File.WriteAllTextAsync(outside, "not the server's");
        Directory.CreateDirectory(Path.Combine(RunFolder(id), "partial"));
        await File.WriteAllTextAsync(Path.Combine(RunFolder(id), "partial", "half.bin"), "x");
        Directory.CreateSymbolicLink(Path.Combine(RunFolder(id), "linked-folder"), Path.GetDirectoryName(outside)!);
        File.CreateSymbolicLink(Path.Combine(RunFolder(id), "linked-file.txt"), outside);

        await using var host = await ApiHost.StartAsync(_folder.Path);
        var run = await host.WaitAsync(id);

        Assert.Equal(("completed", 2), (run["status"]!.GetValue<string>(), run["attempts"]!.GetValue<int>()));
        Assert.Equal(["value-sink.txt"], Directory.GetFileSystemEntries(RunFolder(id)).Select(Path.GetFileName));
        Assert.Equal("4", await File.ReadAllTextAsync(Path.Combine(RunFolder(id), "value-sink.txt")));
        Assert.Equal("another run's output", await File.ReadAllTextAsync(neighbour));
        Assert.Equal("not the server's", await File.ReadAllTextAsync(outside));
    }

    [Fact]
    public async Task Run_folder_replaced_by_a_link_is_unlinked_not_emptied()
    {
        var id = await CrashedRunAsync(new RunSubmission(Workflows.Sum, "{\"a\":5}"));
        var outside = Path.Combine(_folder.Path, "precious");
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "keep.txt"), "not the server's");
        Directory.CreateDirectory(Path.Combine(_folder.Path, "outputs"));
        Directory.CreateSymbolicLink(RunFolder(id), outside);

        await using var host = await ApiHost.StartAsync(_folder.Path);
        var run = await host.WaitAsync(id);

        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Null(new DirectoryInfo(RunFolder(id)).LinkTarget);
        Assert.Equal("8", await File.ReadAllTextAsync(Path.Combine(RunFolder(id), "value-sink.txt")));
        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(outside).Select(Path.GetFileName));
    }

    [Fact]
    public void Clearing_refuses_an_id_that_could_name_another_folder()
    {
        var error = Assert.Throws<ArgumentException>(() => StaleOutputs.Clear(_folder.Path, "../data"));
        Assert.Contains("'../data' is not a run id", error.Message);
    }
}
