using System.Diagnostics;
using SkiaSharp;

namespace FlowDiffusion.Server.Tests.Security;

/// <summary>
/// File parameters of server runs (image.load, mask.load, model.load) stay inside the input folders, links followed,
/// and refusals read the same whether or not the outside file exists.
/// </summary>
public sealed class InputPathTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public InputPathTests()
    {
        Outside = Path.Combine(_folder.Path, "outside");
        Directory.CreateDirectory(Outside);
        File.WriteAllBytes(Path.Combine(Outside, "secret.png"), Images.Solid(SKColors.Magenta));
        Directory.CreateDirectory(Uploads);
    }

    public void Dispose() => _folder.Dispose();

    private string Outside { get; }

    private string Work => Path.Combine(_folder.Path, "work");

    private string Uploads => Path.Combine(Work, "data", "uploads");

    private Task<ApiHost> StartAsync() => ApiHost.StartAsync(_folder.Path,
        ("FlowDiffusion:Server:WorkingFolder", Work),
        ("FlowDiffusion:PluginFolders:0", Path.Combine(RepositoryRoot.Path, "plugins")),
        ("FlowDiffusion:WorkflowsFolder", "workflows"),
        ("FlowDiffusion:DataFolder", "data"),
        ("FlowDiffusion:OutputFolder", "outputs"));

    private static string LoadImage(string path) => $$"""
        flowdiffusion: 1
        nodes:
          load: { node: image.load, with: { path: "{{path}}" } }
          save: { node: image.save, in: { images: load.image }, with: { prefix: copy } }
        """;

    private static async Task<string> ErrorOfAsync(ApiHost host, string yaml)
    {
        var run = await host.WaitAsync(await host.SubmitAsync(new { yaml }), TimeSpan.FromMinutes(1));
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        return run["error"]!.GetValue<string>();
    }

    [Fact]
    public async Task Absolute_and_dot_dot_paths_outside_the_input_folders_are_refused_alike_whether_or_not_they_exist()
    {
        await using var host = await StartAsync();

        var existing = await ErrorOfAsync(host, LoadImage(Path.Combine(Outside, "secret.png")));
        var missing = await ErrorOfAsync(host, LoadImage(Path.Combine(Outside, "missing.png")));
        var dotDot = await ErrorOfAsync(host, LoadImage("data/uploads/../../../outside/secret.png"));

        foreach (var error in new[] { existing, missing, dotDot })
        {
            Assert.Contains("parameter 'path'", error);
            Assert.Contains("not inside the folders this host reads inputs from", error);
        }
        Assert.Equal(existing.Replace("secret.png", "X", StringComparison.Ordinal), missing.Replace("missing.png", "X", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_link_inside_the_upload_folder_to_a_file_outside_is_refused()
    {
        await using var host = await StartAsync();
        File.CreateSymbolicLink(Path.Combine(Uploads, "link.png"), Path.Combine(Outside, "secret.png"));
        Directory.CreateSymbolicLink(Path.Combine(Uploads, "dir"), Outside);

        Assert.Contains("parameter 'path'", await ErrorOfAsync(host, LoadImage("data/uploads/link.png")));
        Assert.Contains("parameter 'path'", await ErrorOfAsync(host, LoadImage("data/uploads/dir/secret.png")));
    }

    [Fact]
    public async Task An_uploaded_image_inside_the_input_folders_loads()
    {
        await using var host = await StartAsync();
        File.WriteAllBytes(Path.Combine(Uploads, "ok.png"), Images.Solid(SKColors.Red));

        var run = await host.WaitAsync(await host.SubmitAsync(new { yaml = LoadImage("data/uploads/ok.png") }), TimeSpan.FromMinutes(1));

        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
    }

    [Fact]
    public async Task A_model_folder_outside_the_input_folders_is_refused()
    {
        await using var host = await StartAsync();
        var yaml = $$"""
            flowdiffusion: 1
            nodes:
              model: { node: model.load, with: { path: "{{Path.Combine(RepositoryRoot.Path, "models", "tiny-sd")}}" } }
              tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: x } }
            """;

        Assert.Contains("parameter 'path'", await ErrorOfAsync(host, yaml));
    }

    [Fact]
    public async Task A_fifo_as_image_fails_the_run_at_once_and_the_queue_moves_on()
    {
        if (OperatingSystem.IsWindows()) return;
        await using var host = await StartAsync();
        using (var mkfifo = Process.Start("mkfifo", Path.Combine(Uploads, "pipe.png"))) await mkfifo.WaitForExitAsync();
        File.WriteAllBytes(Path.Combine(Uploads, "ok.png"), Images.Solid(SKColors.Red));
        var clock = Stopwatch.StartNew();

        var error = await ErrorOfAsync(host, LoadImage("data/uploads/pipe.png"));
        var next = await host.WaitAsync(await host.SubmitAsync(new { yaml = LoadImage("data/uploads/ok.png") }), TimeSpan.FromMinutes(1));

        Assert.Contains("not a regular file", error);
        Assert.Equal("completed", next["status"]!.GetValue<string>());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), clock.Elapsed.ToString());
    }

    [Fact]
    public async Task A_png_declaring_32768_squared_fails_the_run_from_its_header()
    {
        await using var host = await StartAsync();
        File.WriteAllBytes(Path.Combine(Uploads, "bomb.png"), FlowDiffusion.Imaging.Tests.ImageBombs.Png(32768, 32768));

        var error = await ErrorOfAsync(host, LoadImage("data/uploads/bomb.png"));

        Assert.Contains("declares 32768×32768", error);
    }

    [Fact]
    public async Task Image_save_prefix_that_the_output_api_could_not_serve_is_refused()
    {
        await using var host = await StartAsync();
        File.WriteAllBytes(Path.Combine(Uploads, "ok.png"), Images.Solid(SKColors.Red));

        var error = await ErrorOfAsync(host, LoadImage("data/uploads/ok.png").Replace("prefix: copy", "prefix: \"a:b\"", StringComparison.Ordinal));

        Assert.Contains("parameter 'prefix'", error);
    }
}
