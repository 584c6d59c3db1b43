using System.Globalization;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests;

/// <summary>image.save's prefix pattern names the files a run served through the API writes, in its outputs and in the history.</summary>
public sealed class OutputNamePatternApiTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Prefix_pattern_names_the_output_in_the_run_and_in_the_history()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, RepositoryRoot.StableDiffusionSettings);
        var yaml = """
            flowdiffusion: 1
            name: named-output
            inputs:
              seed: { type: int, default: 7 }
            nodes:
              load: { node: image.load, with: { path: workflows/assets/mask.png } }
              save: { node: image.save, in: { images: load.image }, with: { prefix: "%workflow%_%date:yyyyMMdd%_s%seed%" } }
            """;

        var before = DateTime.Now;
        var id = await host.SubmitAsync(new { yaml, inputs = new { seed = 4242 } });
        var run = await host.WaitAsync(id, TimeSpan.FromMinutes(1));
        var after = DateTime.Now;
        var history = JsonNode.Parse(await host.Client.GetStringAsync("/api/runs"))!["runs"]!.AsArray().Single(r => r!["id"]!.GetValue<string>() == id)!;

        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        var expected = new[] { before, after }.Select(t => $"named-output_{t.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}_s4242_00001.png").Distinct().ToList();
        var file = run["outputs"]!.AsArray().Single()!["file"]!.GetValue<string>();
        Assert.Contains(Path.GetFileName(file), expected);
        Assert.Equal(file, history["outputs"]!.AsArray().Single()!["file"]!.GetValue<string>());
        using var png = await host.Client.GetAsync(run["outputs"]![0]!["url"]!.GetValue<string>());
        Assert.True(png.IsSuccessStatusCode, $"{png.StatusCode} for {file}");
        Assert.Equal("image/png", png.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Prefix_naming_an_unknown_placeholder_fails_the_run_naming_the_placeholder()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, RepositoryRoot.StableDiffusionSettings);
        var yaml = """
            flowdiffusion: 1
            name: named-output
            nodes:
              load: { node: image.load, with: { path: workflows/assets/mask.png } }
              save: { node: image.save, in: { images: load.image }, with: { prefix: "out_%colour%" } }
            """;

        var run = await host.WaitAsync(await host.SubmitAsync(new { yaml }), TimeSpan.FromMinutes(1));

        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Contains("%colour%", run["error"]!.GetValue<string>());
        Assert.Empty(run["outputs"]!.AsArray());
    }
}
